import type { TokenVendingError } from './errors.js';
import type { VendedToken } from './vendedToken.js';

/** A new token arrived from the API (whoever asked for it; cache hits are not events). */
export interface TokenReceivedEvent {
  /** Always `token`. */
  readonly type: 'token';
  /** The token, as `getToken()` returns it. */
  readonly token: VendedToken;
}

/** An attempt failed in a way worth retrying; the provider waits, then tries again. */
export interface TokenRetryingEvent {
  /** Always `retrying`. */
  readonly type: 'retrying';
  /** The attempt that failed, counting from 1. */
  readonly attempt: number;
  /** Attempts the provider makes before it gives up (`maxAttempts`). */
  readonly maxAttempts: number;
  /** Seconds until the next attempt (may be fractional): the backoff, or longer if `Retry-After` asks. */
  readonly delaySeconds: number;
  /** What failed (`network_error`, `rate_limited`, `sts_unavailable`, …). */
  readonly error: TokenVendingError;
}

/**
 * The API is throttling: it answered 429 (this caller is over its rate limit) or 503 with a
 * `*_throttled` code (an upstream is throttling). A `retrying` event follows when it is retried;
 * otherwise an `error` event.
 */
export interface TokenThrottledEvent {
  /** Always `throttled`. */
  readonly type: 'throttled';
  /** Seconds the API asked to wait, from `Retry-After` or the problem body; `undefined` when it gave none. */
  readonly retryAfterSeconds: number | undefined;
  /**
   * `true` when the provider will wait and retry; `false` when it gives up now (attempts used up,
   * or `Retry-After` longer than `maxDelayMs`).
   */
  readonly willRetry: boolean;
  /** The refusal, with its `code`, `detail` and `correlationId`. */
  readonly error: TokenVendingError;
}

/** A refresh failed: the error every waiting `getToken()` rejects with. Not sent for `aborted`. */
export interface TokenErrorEvent {
  /** Always `error`. */
  readonly type: 'error';
  /** The error, after the retries. */
  readonly error: TokenVendingError;
}

/**
 * The cached token reached its expiry and nothing replaced it: nobody asked for a new one in
 * time. The provider drops it; the next `getToken()` fetches a new one.
 */
export interface TokenExpiredEvent {
  /** Always `expired`. */
  readonly type: 'expired';
  /** The token that expired. */
  readonly token: VendedToken;
}

/** What {@link TokenProvider.subscribe} listeners hear; branch on `type`. */
export type TokenProviderEvent =
  TokenReceivedEvent | TokenRetryingEvent | TokenThrottledEvent | TokenErrorEvent | TokenExpiredEvent;

/** A {@link TokenProvider.subscribe} listener. */
export type TokenProviderListener = (event: TokenProviderEvent) => void;

/** 429, or a 503 whose code says an upstream is throttling (`sts_throttled`, `keyvault_throttled`, …). */
export function isThrottling(error: TokenVendingError): boolean {
  return error.status === 429 || (error.status === 503 && error.code.endsWith('_throttled'));
}
