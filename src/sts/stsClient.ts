import { z } from 'zod';
import { VendingError } from '../errors.js';

export interface IssuedToken {
  /** The bearer token, opaque to us; never log it. */
  readonly token: string;
  /** When the STS answered, by the injected clock (ms). */
  readonly issuedAt: number;
}

export interface StsClientOptions {
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** [0, 1) source for backoff jitter. */
  readonly random?: () => number;
  /** One attempt's limit, in ms. Default 5000: the STS answers in well under a second when healthy. */
  readonly attemptTimeoutMs?: number;
  /** All attempts of one exchange, waits included, in ms. Default 12000, so callers get an answer in time. */
  readonly budgetMs?: number;
  /** Default 3. */
  readonly maxAttempts?: number;
  /** First backoff step, in ms; doubles per attempt with full jitter. Default 250. */
  readonly baseDelayMs?: number;
}

export interface IssueTokenRequest {
  /** `{sts origin}/sts/v1.0/issueToken`, from resolveIssueTokenUrl. */
  readonly url: string;
  readonly key: string;
  /** Names the resource in diagnoses. */
  readonly resource: string;
}

/** Both shapes the STS has used for errors; the message says which check failed. */
const stsErrorBody = z.union([
  z.object({ error: z.object({ code: z.union([z.string(), z.number()]).optional(), message: z.string() }) }),
  z.object({ statusCode: z.number().optional(), message: z.string() }),
]);

const MAX_TOKEN_LENGTH = 16 * 1024;

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

  constructor(options: StsClientOptions = {}) {
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    this.#budgetMs = options.budgetMs ?? 12_000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
  }

  async issueToken(request: IssueTokenRequest): Promise<IssuedToken> {
    const deadline = this.#now() + this.#budgetMs;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(request);
      if (outcome.kind === 'token') return outcome.token;
      const { error } = outcome;
      const remaining = deadline - this.#now();
      if (!outcome.retryable || attempt >= this.#maxAttempts || remaining <= 0) throw error;
      const backoff = Math.min(remaining, this.#random() * this.#baseDelayMs * 2 ** (attempt - 1));
      const wait = outcome.retryAfterMs !== undefined ? Math.max(backoff, outcome.retryAfterMs) : backoff;
      // A Retry-After beyond the budget is the STS saying "not in time": report it rather than wait.
      if (wait >= remaining) throw error;
      await this.#sleep(wait);
    }
  }

  async #attempt(request: IssueTokenRequest): Promise<Outcome> {
    const { url, key, resource } = request;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: 'POST',
        headers: { 'Ocp-Apim-Subscription-Key': key, 'Content-Length': '0' },
        signal: AbortSignal.timeout(this.#attemptTimeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      return networkFailure(request, error, this.#attemptTimeoutMs);
    }
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      return networkFailure(request, error, this.#attemptTimeoutMs);
    }
    if (response.status === 200) {
      const token = body.trim();
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || /\s/.test(token)) {
        return fail(new VendingError('sts_invalid_response', 'The token service answered with something that is not a token.', {
          detail: 'The token service gave an unexpected answer. Retry shortly.',
          diagnosis: `POST ${url} for "${resource}" returned 200 with a ${token.length}-character body that is not a token`,
          fix: 'Check that the resource endpoint is an Azure AI services STS and not a proxy or captive portal.',
        }), true);
      }
      return { kind: 'token', token: { token, issuedAt: this.#now() } };
    }
    const upstream = upstreamMessage(body);
    const said = upstream ? `: "${upstream}"` : '';
    const status = response.status;
    if (status === 401) {
      return fail(new VendingError('key_rejected', 'The token service rejected the resource key.', {
        detail: 'The token service rejected the key configured for this resource. The operator has been told.',
        diagnosis: `POST ${url} for "${resource}" returned 401${said}`,
        fix: 'The key and the endpoint belong to different resources, or the key was regenerated. Compare region/cloud/endpoint in TOKEN_RESOURCES with the resource\'s Keys and Endpoint page and put a current key in the secret; `npm run doctor -- --locate` finds where a key belongs. A newly created key can take up to 10 minutes to work.',
      }), false);
    }
    if (status === 403) {
      if (/authentication ?type ?disabled|key based authentication is disabled|local auth/i.test(body)) {
        return fail(new VendingError('local_auth_disabled', 'The resource does not accept keys.', {
          detail: 'The resource is configured not to accept keys. The operator has been told.',
          diagnosis: `POST ${url} for "${resource}" returned 403${said}: local (key) authentication is disabled on the resource`,
          fix: 'Set disableLocalAuth to false on the resource (az cognitiveservices account update --custom-domain ... / properties.disableLocalAuth), or vend Entra tokens instead.',
        }), false);
      }
      if (/virtual network|firewall|network rule|public access/i.test(body)) {
        return fail(new VendingError('network_restricted', 'The resource\'s network rules refused the call.', {
          detail: 'The resource refused this service\'s network. The operator has been told.',
          diagnosis: `POST ${url} for "${resource}" returned 403${said}`,
          fix: 'Allow the function app\'s outbound network in the resource\'s Networking settings (or use a private endpoint with its custom subdomain).',
        }), false);
      }
      return fail(new VendingError('sts_forbidden', 'The token service refused the call.', {
        detail: 'The token service refused the exchange. The operator has been told.',
        diagnosis: `POST ${url} for "${resource}" returned 403${said}`,
        fix: 'Check the resource\'s state (disabled, quota exceeded, pricing tier) in the Azure portal.',
      }), false);
    }
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      const throttled = status === 429;
      return fail(new VendingError(throttled ? 'sts_throttled' : 'sts_unavailable',
        throttled ? 'The token service is throttling this resource.' : 'The token service is unavailable.', {
          detail: 'The token service is busy. Retry shortly.',
          diagnosis: `POST ${url} for "${resource}" returned ${status}${said}`,
          fix: throttled ? 'Token requests are cached per resource; sustained 429s mean the resource\'s tier limits are hit.' : 'An Azure AI services outage; it usually passes.',
          retryAfterSeconds: Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000)),
        }), true, retryAfterMs);
    }
    return fail(new VendingError('sts_bad_request', 'The token service refused the request.', {
      detail: 'The token service refused the exchange. The operator has been told.',
      diagnosis: `POST ${url} for "${resource}" returned ${status}${said}`,
      fix: 'Check that the endpoint in TOKEN_RESOURCES is the resource\'s own (region or custom subdomain).',
    }), false);
  }
}

type Outcome =
  | { kind: 'token'; token: IssuedToken }
  | { kind: 'error'; error: VendingError; retryable: boolean; retryAfterMs: number | undefined };

function fail(error: VendingError, retryable: boolean, retryAfterMs?: number): Outcome {
  return { kind: 'error', error, retryable, retryAfterMs };
}

function networkFailure({ url, resource }: IssueTokenRequest, error: unknown, timeoutMs: number): Outcome {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    return fail(new VendingError('sts_timeout', 'The token service did not answer in time.', {
      detail: 'The token service did not answer in time. Retry shortly.',
      diagnosis: `POST ${url} for "${resource}": no answer within ${timeoutMs} ms`,
      fix: 'Check outbound connectivity from the function app to the STS host.',
      retryAfterSeconds: 5,
      cause: error,
    }), true);
  }
  const code = err.cause?.code;
  const unknownHost = code === 'ENOTFOUND';
  return fail(new VendingError('sts_unreachable', 'The token service could not be reached.', {
    detail: 'The token service could not be reached. Retry shortly.',
    diagnosis: `POST ${url} for "${resource}" failed: ${code ?? err.cause?.message ?? err.message}`,
    fix: unknownHost
      ? 'The STS host does not resolve: check the region, cloud or custom subdomain in TOKEN_RESOURCES (and private DNS for private endpoints).'
      : 'Check outbound connectivity (VNet, NSG, proxy) from the function app to the STS host.',
    retryAfterSeconds: 5,
    cause: error,
  }), !unknownHost);
}

function upstreamMessage(body: string): string | undefined {
  try {
    const parsed = stsErrorBody.safeParse(JSON.parse(body));
    if (!parsed.success) return undefined;
    const message = 'error' in parsed.data ? parsed.data.error.message : parsed.data.message;
    return message.slice(0, 300);
  } catch {
    return undefined;
  }
}

/** `Retry-After` in seconds or as an HTTP date, as ms from now. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
