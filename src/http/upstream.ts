import type { VendingError } from '../errors/serviceError.js';

/** An upstream HTTP answer, as read off the wire, for a kind's classifier. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter: string | null;
}

/** The call being judged, for diagnoses: never a key. */
export interface UpstreamAttempt {
  readonly url: string;
  readonly resource: string;
  /** The injected clock at the answer, ms (for an HTTP-date `Retry-After`). */
  readonly now: number;
  /** The attempt's limit, in ms. */
  readonly timeoutMs: number;
}

/** What one upstream answer came to. */
export type UpstreamOutcome =
  | { readonly kind: 'credential'; readonly value: string }
  | {
      readonly kind: 'failure';
      readonly error: VendingError;
      readonly retryable: boolean;
      /** From the upstream's `Retry-After`, in ms. */
      readonly retryAfterMs: number | undefined;
    };
