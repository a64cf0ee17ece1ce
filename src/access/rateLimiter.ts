import { VendingError } from '../errors/serviceError.js';
import { retryAfterSeconds } from '../http/retryAfter.js';

export interface RateLimiterOptions {
  /** Token requests per caller per minute on this instance; 0 turns limiting off. */
  readonly perMinute: number;
  readonly now?: () => number;
  /** Callers tracked before idle ones are forgotten; bounds memory under many distinct callers. Default 10000. */
  readonly maxTrackedCallers?: number;
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
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.#perMinute = options.perMinute;
    this.#now = options.now ?? Date.now;
    this.#maxTracked = options.maxTrackedCallers ?? 10_000;
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
      throw rateLimited(callerId, this.#perMinute, retryAfterSeconds((1 - bucket.tokens) / perMs));
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

function rateLimited(callerId: string, perMinute: number, retryAfterSeconds: number): VendingError {
  return new VendingError('rate_limited', 'Too many token requests.', {
    detail: `Too many token requests from this caller (limit ${perMinute} per minute). Reuse the token until shortly before expiresOn; retry after ${retryAfterSeconds} s.`,
    diagnosis: `caller ${callerId} over ${perMinute}/min`,
    retryAfterSeconds,
  });
}
