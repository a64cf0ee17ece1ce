/**
 * Codes the client itself produces. Every other `code` is the API's problem+json `code`
 * (`invalid_token`, `forbidden`, `resource_not_found`, `rate_limited`, `key_rejected`, …), or
 * `http_<status>` when an answer carried no problem body (a proxy or gateway in the way).
 */
export type ClientErrorCode =
  /** The API could not be reached, the connection broke, or an attempt timed out. */
  | 'network_error'
  /** The API answered 200 with something that is not a vended token. */
  | 'invalid_response'
  /** The caller's `signal` aborted the request. */
  | 'aborted'
  /** `getAccessToken` threw or returned no token; the original error is the `cause`. */
  | 'access_token_unavailable';

export interface TokenVendingErrorDetails {
  readonly status?: number | undefined;
  readonly correlationId?: string | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly cause?: unknown;
}

/**
 * The one error type the client throws. Branch on `code`, never on the message; show `detail`;
 * quote `correlationId` when reporting a problem (the API logs it with the request).
 */
export class TokenVendingError extends Error {
  override readonly name = 'TokenVendingError';
  /** HTTP status of the API's answer; `undefined` when there was none (network, abort). */
  readonly status: number | undefined;
  readonly correlationId: string | undefined;
  /** From the API's `Retry-After` (429, some 503s): wait at least this long before asking again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ClientErrorCode | (string & {}),
    /** Human-readable, safe to show: never holds a token. */
    readonly detail: string,
    details: TokenVendingErrorDetails = {},
  ) {
    super(detail, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.correlationId = details.correlationId;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}
