import { ensureVendingError, VendingError, type ErrorCode } from '../errors/serviceError.js';
import type { KeyInUse, MintedCredential, TokenResource } from '../model.js';
import { SingleFlight } from '../singleFlight.js';
import type { RequestCorrelation, Telemetry } from '../telemetry/telemetry.js';

/** A cached credential: the token, its issue and expiry (epoch ms), and the key it was minted with. */
export type CachedToken = MintedCredential;

/** What the cache knows about one resource, for operators (`GET /api/status`): no token in it. */
export interface ResourceTokenState {
  /** When the cached token expires; undefined when none was ever fetched. */
  readonly expiresAt: number | undefined;
  /** Whether the cached token may still be handed out. */
  readonly servable: boolean;
  /** The last successful refresh. */
  readonly lastRefreshAt: number | undefined;
  /** The last failed refresh, kept after later successes. */
  readonly lastError: { readonly code: ErrorCode; readonly at: number } | undefined;
  /** Whether the latest refresh failed (callers get the cached token, or the error). */
  readonly failing: boolean;
  readonly key: KeyInUse | undefined;
}

export interface TokenCacheOptions {
  /** Mints a new credential for a resource (its kind: secret source, then STS). */
  readonly refresh: (resource: TokenResource, correlation?: RequestCorrelation) => Promise<MintedCredential>;
  readonly now?: () => number;
  /**
   * From this long before expiry a request still gets the cached token but starts a background
   * refresh, so warm callers never wait on the STS. Default 2 minutes.
   */
  readonly refreshAheadMs?: number;
  /** A token with less than this left is not handed out while a refresh can replace it. Default 60 s. */
  readonly minRemainingMs?: number;
  /**
   * After a failed refresh, callers get the same error for this long instead of each calling
   * Key Vault and the STS again: a misconfigured resource under load must not hammer them. Default 2 s.
   */
  readonly failureCooldownMs?: number;
  /** Told about background refresh failures, which no caller awaits. */
  readonly onBackgroundRefreshError?: (resource: TokenResource, error: unknown) => void;
  /** Counts lookups (hit or miss) and refreshes by outcome. */
  readonly telemetry?: Pick<Telemetry, 'count'>;
}

/** Tokens are never handed out this close to expiry: the client still needs time to use it. */
const NEVER_SERVE_WITHIN_MS = 5_000;

/** How one lookup treats a failed refresh. */
export interface CacheLookupOptions {
  /**
   * Whether a failed refresh still hands out the cached token while it works (more than 5 s left).
   * Default true; the failover step passes false, so that a fallback's fresh token is preferred to
   * a primary's last minute (and asks `peek` for it when no member can do better).
   */
  readonly servableOnFailure?: boolean;
  /**
   * Asks the upstream even while a recent failure is held: a failover probe, which its own backoff
   * spaces out. Default false.
   */
  readonly probe?: boolean;
}

/**
 * One token per resource, shared by every authorized caller, with exactly one refresh in flight
 * per resource however many callers arrive. Sits after authorization, so a hit never skips it.
 */
export class TokenCache {
  readonly #options: TokenCacheOptions;
  readonly #now: () => number;
  readonly #refreshAheadMs: number;
  readonly #minRemainingMs: number;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #refreshes = new SingleFlight<CachedToken>();
  readonly #failures = new Map<string, { readonly error: unknown; readonly at: number }>();
  readonly #lastRefreshAt = new Map<string, number>();
  readonly #lastError = new Map<string, { readonly code: ErrorCode; readonly at: number }>();

  constructor(options: TokenCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#refreshAheadMs = options.refreshAheadMs ?? 2 * 60_000;
    this.#minRemainingMs = options.minRemainingMs ?? 60_000;
  }

  /** The resource's token; `correlation` is the request a refresh it starts is for. */
  async get(
    resource: TokenResource,
    correlation?: RequestCorrelation,
    options: CacheLookupOptions = {},
  ): Promise<CachedToken> {
    const cached = this.#tokens.get(resource.name);
    const now = this.#now();
    if (cached !== undefined) {
      const remaining = cached.expiresAt - now;
      if (remaining > this.#refreshAheadMs) return this.#hit(resource, cached);
      if (remaining > this.#minRemainingMs) {
        // A failed background refresh is remembered like a failed foreground one: otherwise every
        // request in the refresh-ahead window would call Key Vault and the STS again. Only the
        // request that starts a refresh reports its failure, so one failure is one log line.
        if (!this.#refreshes.running(resource.name) && this.#recentFailure(resource, now) === undefined) {
          this.#refresh(resource, 'background', correlation).catch((error: unknown) =>
            this.#options.onBackgroundRefreshError?.(resource, error),
          );
        }
        return this.#hit(resource, cached);
      }
    }
    this.#options.telemetry?.count('token_cache_lookups', { resource: resource.name, result: 'miss' });
    const failure = options.probe === true ? undefined : this.#recentFailure(resource, now);
    try {
      if (failure !== undefined) throw failure.error;
      return await this.#refresh(resource, 'foreground', correlation);
    } catch (error) {
      // A failed refresh does not take away a token that still works.
      const current = options.servableOnFailure === false ? undefined : this.peek(resource);
      if (current !== undefined) return current;
      throw error;
    }
  }

  /**
   * The cached token, without counting a lookup or starting a refresh: what a failing member still
   * holds. `fresh`: only while it has more than `minRemainingMs` left, as a lookup would hand it out
   * without waiting; else while it works at all (more than 5 s).
   */
  peek(resource: TokenResource, { fresh = false }: { readonly fresh?: boolean } = {}): CachedToken | undefined {
    const current = this.#tokens.get(resource.name);
    const remaining = current === undefined ? 0 : current.expiresAt - this.#now();
    return remaining > (fresh ? this.#minRemainingMs : NEVER_SERVE_WITHIN_MS) ? current : undefined;
  }

  /** What is known about this resource's token, without the token. */
  state(resource: TokenResource): ResourceTokenState {
    const cached = this.#tokens.get(resource.name);
    const lastRefreshAt = this.#lastRefreshAt.get(resource.name);
    const lastError = this.#lastError.get(resource.name);
    return {
      expiresAt: cached?.expiresAt,
      servable: cached !== undefined && cached.expiresAt - this.#now() > NEVER_SERVE_WITHIN_MS,
      lastRefreshAt,
      lastError,
      failing: lastError !== undefined && (lastRefreshAt === undefined || lastError.at >= lastRefreshAt),
      key: cached?.key,
    };
  }

  #hit(resource: TokenResource, cached: CachedToken): CachedToken {
    this.#options.telemetry?.count('token_cache_lookups', { resource: resource.name, result: 'hit' });
    return cached;
  }

  /**
   * The last failed refresh of this resource, while its cooldown (timed from that attempt) lasts:
   * `failureCooldownMs`, or as long as the upstream asked (`Retry-After`, a quota's replenish
   * time), so a busy instance does not keep calling a throttled upstream every few seconds.
   */
  #recentFailure(resource: TokenResource, now: number): { readonly error: unknown } | undefined {
    const failure = this.#failures.get(resource.name);
    if (failure === undefined) return undefined;
    const asked = failure.error instanceof VendingError ? (failure.error.retryAfterSeconds ?? 0) * 1000 : 0;
    return now - failure.at < Math.max(this.#options.failureCooldownMs ?? 2000, asked) ? failure : undefined;
  }

  #refresh(
    resource: TokenResource,
    mode: 'foreground' | 'background',
    correlation: RequestCorrelation | undefined,
  ): Promise<CachedToken> {
    const counted = (outcome: string) =>
      this.#options.telemetry?.count('token_refreshes', { resource: resource.name, mode, outcome });
    return this.#refreshes.run(resource.name, () =>
      this.#options.refresh(resource, correlation).then(
        (token) => {
          this.#tokens.set(resource.name, token);
          this.#failures.delete(resource.name);
          this.#lastRefreshAt.set(resource.name, this.#now());
          counted('ok');
          return token;
        },
        (error: unknown) => {
          const at = this.#now();
          const { code } = ensureVendingError(error);
          this.#failures.set(resource.name, { error, at });
          this.#lastError.set(resource.name, { code, at });
          counted(code);
          throw error;
        },
      ),
    );
  }
}
