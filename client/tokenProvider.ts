/**
 * A dependency-free client for the token-vending API, for browsers, React Native and Node.
 * It asks `/api/token/{resource}` with the caller's Entra token, caches the answer, refreshes it
 * ahead of expiry, joins concurrent callers onto one request, and retries transient failures.
 */

export interface VendedToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresOn: Date;
  readonly resource: string;
  readonly kind: string;
  readonly cloud: string;
  /** `null` for a custom-subdomain resource: use `endpoints` then. */
  readonly region: string | null;
  readonly endpoints: Readonly<Record<string, string>>;
}

export interface GetAccessTokenOptions {
  /** Set after the API answered 401: the cached Entra token was refused, get a new one. */
  readonly forceRefresh: boolean;
}

export interface TokenProviderOptions {
  /** The function app's base URL, e.g. `https://func-x.azurewebsites.net` (with or without `/api`). */
  readonly baseUrl: string;
  readonly resource: string;
  /** The caller's Entra access token for the API, e.g. from MSAL's `acquireTokenSilent`. */
  readonly getAccessToken: (options: GetAccessTokenOptions) => Promise<string>;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Refresh this long before `expiresOn`. Default 60 s: the STS token lives 10 minutes. */
  readonly refreshMarginMs?: number;
  /** Attempts for transient failures (network, 429, 5xx). Default 3. */
  readonly maxAttempts?: number;
  /** First backoff step; doubles per attempt, with full jitter. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Longest wait honoured from a Retry-After header. Default 30 s. */
  readonly maxRetryAfterMs?: number;
}

export interface GetTokenOptions {
  readonly signal?: AbortSignal;
  /** Ignore the cached token (e.g. the service refused it). */
  readonly forceRefresh?: boolean;
}

export interface TokenProvider {
  getToken(options?: GetTokenOptions): Promise<VendedToken>;
  /** Drops the cached token; the next getToken fetches a new one. */
  invalidate(): void;
  /** Called with every newly fetched token; returns an unsubscribe function. */
  subscribe(listener: (token: VendedToken) => void): () => void;
}

/** Every failure, with the API's problem+json `code` (or `network_error`, `invalid_response`, `aborted`). */
export class TokenVendingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | undefined,
    readonly correlationId: string | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
    this.name = 'TokenVendingError';
  }

  /** The service's `detail`, meant to be shown or logged. */
  get detail(): string {
    return this.message;
  }
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const doFetch = options.fetch ?? ((input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init));
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const refreshMarginMs = options.refreshMarginMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const api = options.baseUrl.replace(/\/+$/, '').replace(/\/api$/, '');
  const url = `${api}/api/token/${encodeURIComponent(options.resource)}`;
  const listeners = new Set<(token: VendedToken) => void>();

  let cached: VendedToken | undefined;
  let inFlight: Promise<VendedToken> | undefined;

  async function fetchOnce(forceEntraRefresh: boolean): Promise<VendedToken> {
    const accessToken = await options.getAccessToken({ forceRefresh: forceEntraRefresh });
    let response: Response;
    try {
      response = await doFetch(url, { method: 'GET', headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' } });
    } catch (error) {
      throw new TokenVendingError('network_error', `Could not reach the token service: ${(error as Error).message}`, undefined, undefined, undefined);
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw problemError(response, body);
    return parseVendedToken(body);
  }

  async function fetchWithRetry(): Promise<VendedToken> {
    let forcedEntraRefresh = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetchOnce(forcedEntraRefresh);
      } catch (error) {
        if (!(error instanceof TokenVendingError)) throw error;
        // A 401 usually means the cached Entra token expired or was revoked: one fresh one, once.
        if (error.status === 401 && !forcedEntraRefresh) {
          forcedEntraRefresh = true;
          continue;
        }
        const transient = error.code === 'network_error' || (error.status !== undefined && TRANSIENT_STATUS.has(error.status));
        if (!transient || attempt >= maxAttempts) throw error;
        const backoff = random() * baseDelayMs * 2 ** (attempt - 1);
        const retryAfter = error.retryAfterSeconds === undefined ? 0 : Math.min(maxRetryAfterMs, error.retryAfterSeconds * 1000);
        await sleep(Math.max(backoff, retryAfter));
      }
    }
  }

  function refresh(): Promise<VendedToken> {
    if (inFlight === undefined) {
      inFlight = fetchWithRetry()
        .then((token) => {
          cached = token;
          for (const listener of listeners) listener(token);
          return token;
        }, (error: unknown) => {
          cached = undefined; // never hand out a token after a failure that may mean it is bad
          throw error;
        })
        .finally(() => {
          inFlight = undefined;
        });
    }
    return inFlight;
  }

  return {
    async getToken(getOptions = {}) {
      const { signal } = getOptions;
      if (signal?.aborted) throw aborted();
      if (!getOptions.forceRefresh && cached !== undefined && cached.expiresOn.getTime() - now() > refreshMarginMs) return cached;
      if (getOptions.forceRefresh) cached = undefined;
      const pending = refresh();
      if (signal === undefined) return pending;
      // Aborting leaves the shared request running for the other callers.
      return new Promise<VendedToken>((resolve, reject) => {
        const onAbort = () => reject(aborted());
        signal.addEventListener('abort', onAbort, { once: true });
        pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    },
    invalidate() {
      cached = undefined;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function aborted(): TokenVendingError {
  return new TokenVendingError('aborted', 'The token request was aborted.', undefined, undefined, undefined);
}

function problemError(response: Response, body: unknown): TokenVendingError {
  const problem = isRecord(body) ? body : {};
  const retryAfter = Number(response.headers.get('retry-after'));
  return new TokenVendingError(
    typeof problem.code === 'string' ? problem.code : `http_${response.status}`,
    typeof problem.detail === 'string' ? problem.detail : `The token service answered ${response.status}.`,
    response.status,
    typeof problem.correlationId === 'string' ? problem.correlationId : response.headers.get('x-correlation-id') ?? undefined,
    Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has('retry-after') ? retryAfter : undefined,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checked by hand: the client has no dependencies. */
export function parseVendedToken(body: unknown): VendedToken {
  const invalid = (why: string) => new TokenVendingError('invalid_response', `The token service answered with an unexpected body: ${why}.`, 200, undefined, undefined);
  if (!isRecord(body)) throw invalid('not a JSON object');
  const { accessToken, tokenType, expiresOn, resource, kind, cloud, region, endpoints } = body;
  if (typeof accessToken !== 'string' || accessToken.length === 0) throw invalid('no accessToken');
  if (tokenType !== 'Bearer') throw invalid('tokenType is not Bearer');
  const expiry = typeof expiresOn === 'string' ? new Date(expiresOn) : undefined;
  if (expiry === undefined || Number.isNaN(expiry.getTime())) throw invalid('expiresOn is not a date');
  if (typeof resource !== 'string' || typeof kind !== 'string' || typeof cloud !== 'string') throw invalid('resource, kind or cloud missing');
  if (region !== null && typeof region !== 'string') throw invalid('region is neither a string nor null');
  if (!isRecord(endpoints) || !Object.values(endpoints).every((v) => typeof v === 'string')) throw invalid('endpoints is not a map of URLs');
  return { accessToken, tokenType, expiresOn: expiry, resource, kind, cloud, region, endpoints: endpoints as Record<string, string> };
}
