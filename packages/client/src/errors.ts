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
  | 'access_token_unavailable'
  /** `connectRealtime`: the resource is not a GPT Realtime (`openai-realtime`) resource. */
  | 'not_realtime'
  /** `connectRealtime`: no `RTCPeerConnection` on this platform, and no `createPeerConnection` given. */
  | 'webrtc_unavailable'
  /** `connectRealtime`: Azure OpenAI refused the SDP offer (`status`) or could not be reached. */
  | 'realtime_connection_failed';

/** The optional parts of a {@link TokenVendingError}, as its constructor takes them. */
export interface TokenVendingErrorDetails {
  /** HTTP status of the API's answer; leave out when there was none. */
  readonly status?: number | undefined;
  /** The API's `correlationId` (problem body or `x-correlation-id` header). */
  readonly correlationId?: string | undefined;
  /** Seconds to wait before asking again, from `Retry-After` or the problem body. */
  readonly retryAfterSeconds?: number | undefined;
  /** The underlying error (a network failure, what `getAccessToken` threw); becomes `Error.cause`. */
  readonly cause?: unknown;
}

/**
 * The one error type the client throws. Branch on `code`, never on the message; show `detail`;
 * quote `correlationId` when reporting a problem (the API logs it with the request).
 */
export class TokenVendingError extends Error {
  /** Always `TokenVendingError`; it survives minification, unlike the class's own name. */
  override readonly name = 'TokenVendingError';
  /** HTTP status of the API's answer; `undefined` when there was none (network, abort). */
  readonly status: number | undefined;
  /** The API's id for the request, when it answered; quote it to the API's operator. */
  readonly correlationId: string | undefined;
  /**
   * Seconds, from the API's `Retry-After` (429, some 503s) or its problem body: wait at least this
   * long before asking again. `undefined` when the API gave no figure.
   */
  readonly retryAfterSeconds: number | undefined;

  /**
   * @param code - What went wrong, to branch on: a {@link ClientErrorCode}, the API's problem
   *   `code`, or `http_<status>`.
   * @param detail - Human-readable, safe to show; becomes `message` too.
   * @param details - Status, correlation id, retry hint and cause, when known.
   */
  constructor(
    /**
     * What went wrong, to branch on: a {@link ClientErrorCode}, the API's problem+json `code`
     * (`invalid_token`, `forbidden`, `resource_not_found`, `rate_limited`, `key_rejected`, …), or
     * `http_<status>` for an answer without a problem body.
     */
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

/** An underlying failure (fetch's, WebRTC's) as one line for a message: `Name: message`. Internal. */
export function describeCause(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
