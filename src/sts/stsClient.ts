import { postForAnswer } from '../http/upstreamBody.js';
import { redactError, redactSecrets } from '../log/redact.js';
import type { RequestCorrelation, Telemetry } from '../telemetry/telemetry.js';
import { classifyStsAnswer, classifyStsNetworkFailure, type StsAttempt, type StsOutcome } from './stsAnswer.js';

export interface IssuedToken {
  /** The bearer token, opaque to us; never log it. */
  readonly token: string;
  /** When the STS answered, by the injected clock (ms). */
  readonly issuedAt: number;
}

/** A token is 1-2 KB and an error a few hundred bytes; beyond this the answer is cut (and then refused). */
const MAX_ANSWER_BYTES = 32 * 1024;

/** Limits of one exchange. */
export interface StsRetryPolicy {
  /** One attempt's limit, in ms. Default 5000: the STS answers in well under a second when healthy. */
  readonly attemptTimeoutMs?: number;
  /** All attempts of one exchange, waits included, in ms. Default 12000, so callers get an answer in time. */
  readonly budgetMs?: number;
  /** Default 3. */
  readonly maxAttempts?: number;
}

export interface StsClientOptions extends StsRetryPolicy {
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** [0, 1) source for backoff jitter. */
  readonly random?: () => number;
  /** First backoff step, in ms; doubles per attempt with full jitter. Default 250. */
  readonly baseDelayMs?: number;
  /** Times each attempt. */
  readonly telemetry?: Pick<Telemetry, 'upstreamCall'>;
}

export interface IssueTokenRequest {
  /** `{sts origin}/sts/v1.0/issueToken`, from resolveIssueTokenUrl. */
  readonly url: string;
  readonly key: string;
  /** Names the resource in diagnoses. */
  readonly resource: string;
  /** The request the exchange is for, when there is one. */
  readonly correlation?: RequestCorrelation | undefined;
}

/** Exchanges a resource key for a 10-minute bearer token at the resource's own STS. */
export class StsClient {
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #attemptTimeoutMs: number;
  readonly #budgetMs: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #telemetry: Pick<Telemetry, 'upstreamCall'> | undefined;

  constructor(options: StsClientOptions = {}) {
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    this.#budgetMs = options.budgetMs ?? 12_000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#telemetry = options.telemetry;
  }

  /**
   * POSTs the key to `request.url` and returns the token. Retries timeouts, network failures, 429
   * and 5xx with full-jitter backoff inside the budget, which bounds the whole exchange: each
   * attempt (headers and body) is cut to what remains of it. `policy` overrides the client's limits
   * for this call (the doctor probes with fewer attempts). Throws `VendingError` (see
   * `stsAnswer.ts`) whose texts never hold the key, nor anything shaped like one (`log/redact.ts`).
   */
  async issueToken(request: IssueTokenRequest, policy: StsRetryPolicy = {}): Promise<IssuedToken> {
    const attemptTimeoutMs = policy.attemptTimeoutMs ?? this.#attemptTimeoutMs;
    const maxAttempts = policy.maxAttempts ?? this.#maxAttempts;
    const deadline = this.#now() + (policy.budgetMs ?? this.#budgetMs);
    for (let attempt = 1; ; attempt++) {
      // The last attempt gets what remains of the budget, not a whole attempt's time.
      const outcome = await this.#attempt(request, Math.max(1, Math.min(attemptTimeoutMs, deadline - this.#now())));
      if (outcome.kind === 'credential') return { token: outcome.value, issuedAt: this.#now() };
      const { error } = outcome;
      const remaining = deadline - this.#now();
      if (!outcome.retryable || attempt >= maxAttempts || remaining <= 0) throw error;
      const backoff = Math.min(remaining, this.#random() * this.#baseDelayMs * 2 ** (attempt - 1));
      const wait = outcome.retryAfterMs !== undefined ? Math.max(backoff, outcome.retryAfterMs) : backoff;
      // A Retry-After beyond the budget is the STS saying "not in time": report it rather than wait.
      if (wait >= remaining) throw error;
      await this.#sleep(wait);
    }
  }

  async #attempt({ url, key, resource, correlation }: IssueTokenRequest, timeoutMs: number): Promise<StsOutcome> {
    const attempt = (): StsAttempt => ({ url, resource, now: this.#now(), timeoutMs });
    const call = this.#telemetry?.upstreamCall(
      'sts',
      { method: 'POST', host: new URL(url).host, resource },
      correlation,
    );
    let status: number | undefined;
    let outcome: StsOutcome;
    try {
      const answer = await postForAnswer(this.#fetch, url, {
        headers: { 'Ocp-Apim-Subscription-Key': key, 'Content-Length': '0' },
        timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        retryAfter: (headers) => headers.get('retry-after'),
        onStatus: (answered) => (status = answered),
      });
      outcome = classifyStsAnswer(answer, attempt());
    } catch (error) {
      outcome = classifyStsNetworkFailure(error, attempt());
    }
    // An STS error message may quote the key it was sent.
    if (outcome.kind === 'failure')
      outcome = { ...outcome, error: redactError(outcome.error, (text) => redactSecrets(text, [key])) };
    const code = outcome.kind === 'failure' ? outcome.error.code : undefined;
    call?.end({
      status,
      failure:
        code === 'sts_timeout'
          ? 'timeout'
          : code === 'sts_unreachable' || code === 'tls_untrusted'
            ? 'network'
            : undefined,
      code,
    });
    return outcome;
  }
}
