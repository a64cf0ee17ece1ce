import { VendingError } from '../errors/serviceError.js';
import { retryAfterSeconds } from '../http/retryAfter.js';
import type { TokenResource } from '../model.js';

/** One `RateLimiter`'s settings. */
export interface RateLimiterOptions {
  /** Token requests per caller per minute on this instance; 0 turns limiting off. */
  readonly perMinute: number;
  /** Clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Callers tracked before idle ones are forgotten; bounds memory under many distinct callers. Default 10000. */
  readonly maxTrackedCallers?: number;
  /** The resource this limiter is for (`callerLimitPerMinute`); absent for the limit over all resources. */
  readonly resource?: string;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** A token bucket per caller: bursts up to the per-minute figure, refilled evenly over the minute. */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #now: () => number;
  readonly #maxTracked: number;
  readonly #resource: string | undefined;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.#perMinute = options.perMinute;
    this.#now = options.now ?? Date.now;
    this.#maxTracked = options.maxTrackedCallers ?? 10_000;
    this.#resource = options.resource;
  }

  /** Takes one request from the caller's allowance, or throws `rate_limited` with when to retry. */
  take(callerId: string): void {
    if (this.#perMinute === 0) return;
    const now = this.#now();
    const perMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(callerId) ?? { tokens: this.#perMinute, updatedAt: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.updatedAt) * perMs);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      throw rateLimited(callerId, this.#perMinute, retryAfterSeconds((1 - bucket.tokens) / perMs), this.#resource);
    }
    bucket.tokens -= 1;
    if (!this.#buckets.has(callerId)) {
      if (this.#buckets.size >= this.#maxTracked) this.#forgetIdle(now, perMs);
      this.#buckets.set(callerId, bucket);
    }
  }

  #forgetIdle(now: number, perMs: number): void {
    for (const [id, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * perMs >= this.#perMinute) this.#buckets.delete(id);
    }
    // Everyone active: drop the oldest entry rather than grow without bound.
    if (this.#buckets.size >= this.#maxTracked) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
  }
}

function rateLimited(
  callerId: string,
  perMinute: number,
  retryAfterSeconds: number,
  resource: string | undefined,
): VendingError {
  if (resource !== undefined) {
    return new VendingError('rate_limited', 'Too many token requests.', {
      detail: `Too many requests for this resource from this caller (limit ${perMinute} per minute). Retry after ${retryAfterSeconds} s.`,
      diagnosis: `caller ${callerId} over ${perMinute}/min for "${resource}" (its callerLimitPerMinute)`,
      fix: `Raise "callerLimitPerMinute" of "${resource}" in TOKEN_RESOURCES if callers need more.`,
      retryAfterSeconds,
    });
  }
  return new VendingError('rate_limited', 'Too many token requests.', {
    detail: `Too many token requests from this caller (limit ${perMinute} per minute). Reuse the token until shortly before expiresOn; retry after ${retryAfterSeconds} s.`,
    diagnosis: `caller ${callerId} over ${perMinute}/min`,
    retryAfterSeconds,
  });
}

/**
 * The limits resources set for themselves (`callerLimitPerMinute`), one token bucket per caller
 * each, taken after authorization and before anything is minted; `RATE_LIMIT_PER_MINUTE` (the
 * `RateLimiter` over all resources) still applies before it.
 */
export class ResourceRateLimits {
  readonly #limiters = new Map<string, RateLimiter>();

  constructor(resources: readonly TokenResource[], now: () => number) {
    for (const resource of resources) {
      const perMinute = resource.callerLimitPerMinute;
      if (perMinute !== undefined && perMinute > 0)
        this.#limiters.set(resource.name, new RateLimiter({ perMinute, now, resource: resource.name }));
    }
  }

  /** Takes one request of `resource` from the caller's allowance for it, or throws `rate_limited`. */
  take(callerId: string, resource: TokenResource): void {
    this.#limiters.get(resource.name)?.take(callerId);
  }
}
