import { describeCause, TokenVendingError } from './errors.js';
import { isThrottling, type TokenProviderEvent, type TokenProviderListener } from './events.js';
import { backoffDelayMs, isTransient, parseRetryAfter } from './retry.js';
import { isRecord, receiveVendedToken, type ReceivedToken, type VendedToken } from './vendedToken.js';

/** What the provider passes to {@link TokenProviderOptions.getAccessToken}. */
export interface GetAccessTokenOptions {
  /**
   * `true` once per request, after the API answered 401: the Entra token given before was refused
   * (expired, revoked, or cached for the wrong audience), so do not answer from a cache. With
   * MSAL.js, pass it on to `acquireTokenSilent({ …, forceRefresh })`.
   */
  readonly forceRefresh: boolean;
}

/**
 * The `fetch` the client needs; the platform's own `fetch` fits. It must reject when no answer
 * arrives (network, CORS) and stop when `init.signal` aborts.
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** How {@link createTokenProvider} reaches the API, and how patiently. Only the first three are required. */
export interface TokenProviderOptions {
  /**
   * The function app's URL, e.g. `https://func-x.azurewebsites.net`; a trailing `/api` is fine.
   * May be relative (`''`) in a browser page served from the same origin.
   */
  readonly baseUrl: string;
  /** The resource name the API knows (`TOKEN_RESOURCES[].name`); URL-encoded for you. */
  readonly resource: string;
  /**
   * The caller's Entra access token *for this API* (not for Azure AI services), e.g. MSAL's
   * `acquireTokenSilent(...).accessToken`. Called before every request to the API; keep it cheap
   * (MSAL answers from its cache). What it throws, or an empty answer, fails the request with
   * `access_token_unavailable` (what it threw is the `cause`); a `TokenVendingError` it throws
   * passes through as it is.
   */
  readonly getAccessToken: (options: GetAccessTokenOptions) => Promise<string> | string;
  /**
   * The transport, for tests or a custom stack.
   * @defaultValue the global `fetch`
   */
  readonly fetch?: FetchLike;
  /**
   * The clock, in milliseconds since the epoch.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number;
  /**
   * Schedules backoff waits and attempt timeouts; `ms` is milliseconds.
   * @defaultValue the global `setTimeout`
   */
  setTimeout?(callback: () => void, ms: number): unknown;
  /**
   * Cancels what {@link TokenProviderOptions.setTimeout} scheduled.
   * @defaultValue the global `clearTimeout`
   */
  clearTimeout?(handle: unknown): void;
  /**
   * A number in [0, 1), for backoff jitter.
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
  /**
   * Milliseconds: fetch a new token once less than this is left before expiry. The token lives
   * 10 minutes, and a token handed out now must still be good when the app connects with it.
   * @defaultValue 60 000 (60 s)
   */
  readonly refreshMarginMs?: number;
  /**
   * Attempts per refresh for transient failures (network, timeout, 408, 429, 5xx); 1 turns
   * retrying off. A 401's one re-authenticated retry does not count.
   * @defaultValue 3
   */
  readonly maxAttempts?: number;
  /**
   * Milliseconds: the first backoff step; it doubles per retry, with full jitter.
   * @defaultValue 500
   */
  readonly baseDelayMs?: number;
  /**
   * Milliseconds: the longest wait between two attempts. When the API's `Retry-After` asks for
   * longer, the error is thrown at once (with `retryAfterSeconds`) instead: asking earlier than
   * the API said only earns another 429.
   * @defaultValue 30 000 (30 s)
   */
  readonly maxDelayMs?: number;
  /**
   * Milliseconds one attempt (request and body) may take before it counts as a network error and
   * is retried: a hung connection must not hang the app.
   * @defaultValue 15 000 (15 s)
   */
  readonly attemptTimeoutMs?: number;
}

/** Per-call options of {@link TokenProvider.getToken}. */
export interface GetTokenOptions {
  /**
   * Stops this caller's wait (it rejects with `aborted`); the request goes on while other callers
   * still wait for it, and is aborted when none does.
   */
  readonly signal?: AbortSignal;
  /**
   * Skip the cached token, e.g. after Azure AI services refused it. Joins a request already under way.
   * @defaultValue `false`
   */
  readonly forceRefresh?: boolean;
}

/** Tokens for one resource, from {@link createTokenProvider}. */
export interface TokenProvider {
  /**
   * A token with more than `refreshMarginMs` left: the cached one, or a new one. Concurrent
   * callers share one request. A failure drops the cached token.
   *
   * @param options - An abort `signal`, and `forceRefresh` to skip the cache.
   * @returns The token, with its region and endpoints.
   * @throws {@link TokenVendingError} for every failure (by `code`: `network_error`,
   *   `invalid_response`, `aborted`, `access_token_unavailable`, or the API's own code), after the
   *   retries described on {@link TokenProviderOptions}.
   */
  getToken(options?: GetTokenOptions): Promise<VendedToken>;
  /**
   * Drops the cached token, e.g. on sign-out or an account switch. A request already under way
   * still answers the callers waiting for it, but its token is not cached.
   */
  invalidate(): void;
  /**
   * Tells `listener` what the provider does, so an app can show it: `token` (a newly fetched
   * token, whoever asked for it; not cache hits), `retrying` (with the seconds until the next
   * attempt), `throttled` (429, with `retryAfterSeconds`), `error` (a refresh failed) and
   * `expired` (the cached token expired unreplaced). Events of a request made stale by
   * `invalidate()` are not sent. A listener that throws does not fail `getToken`; its error is
   * rethrown from a timer.
   *
   * While a listener is subscribed and a token is cached, the provider keeps a timer for the
   * token's expiry (unref'd where the platform allows, so it never keeps Node running).
   *
   * @param listener - Called with each {@link TokenProviderEvent}; branch on `event.type`.
   * @returns The function that unsubscribes `listener`.
   */
  subscribe(listener: TokenProviderListener): () => void;
}

interface Flight {
  readonly promise: Promise<VendedToken>;
  readonly controller: AbortController;
  /** Callers waiting; when the last one with a signal aborts and none is left, the request stops. */
  waiters: number;
}

/**
 * A provider of tokens for one resource: cached, refreshed ahead of expiry, one request at a time
 * shared by all callers, transient failures retried. Create one per resource and keep it. Nothing
 * is fetched until the first `getToken()`.
 *
 * @param options - Where the API is, which resource, how to get the caller's Entra token; the
 *   rest have defaults.
 * @returns The provider.
 * @throws `TypeError` when `resource` is missing or empty; `RangeError` when a number option is
 *   negative or not finite.
 *
 * @example
 * ```ts
 * const speechTokens = createTokenProvider({
 *   baseUrl: 'https://func-xxxx.azurewebsites.net',
 *   resource: 'speech',
 *   getAccessToken: async ({ forceRefresh }) =>
 *     (await msal.acquireTokenSilent({ scopes, account, forceRefresh })).accessToken,
 * });
 * const { accessToken, region, endpoints } = await speechTokens.getToken();
 * ```
 */
export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const resource = options.resource;
  if (typeof resource !== 'string' || resource.length === 0)
    throw new TypeError('createTokenProvider: resource is required.');
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const now = options.now ?? (() => Date.now());
  const setTimer = (callback: () => void, ms: number): unknown =>
    options.setTimeout ? options.setTimeout(callback, ms) : setTimeout(callback, ms);
  const clearTimer = (handle: unknown): void => {
    if (options.clearTimeout) options.clearTimeout(handle);
    else clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  };
  const random = options.random ?? Math.random;
  const refreshMarginMs = nonNegative('refreshMarginMs', options.refreshMarginMs ?? 60_000);
  const maxAttempts = Math.max(1, Math.floor(nonNegative('maxAttempts', options.maxAttempts ?? 3)));
  const baseDelayMs = nonNegative('baseDelayMs', options.baseDelayMs ?? 500);
  const maxDelayMs = nonNegative('maxDelayMs', options.maxDelayMs ?? 30_000);
  const attemptTimeoutMs = nonNegative('attemptTimeoutMs', options.attemptTimeoutMs ?? 15_000);
  const apiRoot = options.baseUrl.replace(/\/+$/, '').replace(/\/api$/, '');
  const url = `${apiRoot}/api/token/${encodeURIComponent(resource)}`;
  const listeners = new Set<TokenProviderListener>();

  let cached: ReceivedToken | undefined;
  let expiryTimer: unknown;
  let flight: Flight | undefined;
  // Bumped by invalidate() and by every new request: a request's answer touches the cache only
  // while nothing newer has happened, so a slow old answer never overwrites a newer state.
  let generation = 0;

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortedError());
        return;
      }
      const onAbort = () => {
        clearTimer(handle);
        reject(abortedError());
      };
      const handle = setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async function callerToken(forceRefresh: boolean): Promise<string> {
    let token: unknown;
    try {
      token = await options.getAccessToken({ forceRefresh });
    } catch (error) {
      if (error instanceof TokenVendingError) throw error;
      throw new TokenVendingError(
        'access_token_unavailable',
        'getAccessToken failed: no Entra access token to call the token service with.',
        { cause: error },
      );
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new TokenVendingError('access_token_unavailable', 'getAccessToken returned no Entra access token.');
    }
    return token;
  }

  async function attempt(forceEntraRefresh: boolean, signal: AbortSignal): Promise<ReceivedToken> {
    if (isAborted(signal)) throw abortedError();
    const bearer = await callerToken(forceEntraRefresh);
    if (isAborted(signal)) throw abortedError();
    const controller = new AbortController();
    // An object, not a `let`: TypeScript cannot see the timer callback assign it.
    const timeout = { fired: false };
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimer(() => {
      timeout.fired = true;
      controller.abort();
    }, attemptTimeoutMs);
    // The API counts `expiresInSeconds` at some instant between sending and receiving; counting
    // from the send errs on the early side.
    const sentAt = now();
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method: 'GET',
        headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json' },
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      if (isAborted(signal)) throw abortedError();
      throw new TokenVendingError(
        'network_error',
        timeout.fired
          ? `The token service at ${url} did not answer within ${attemptTimeoutMs} ms.`
          : `Could not reach the token service at ${url} (${describeCause(error)}). Check the network, the baseUrl, and that the API allows this page's origin (CORS).`,
        { cause: error },
      );
    } finally {
      clearTimer(timer);
      signal.removeEventListener('abort', onAbort);
    }
    if (!response.ok) throw problemError(response, text, now());
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new TokenVendingError(
        'invalid_response',
        'The token service answered 200 with a body that is not JSON (is baseUrl the function app?).',
        { status: response.status },
      );
    }
    return receiveVendedToken(body, sentAt);
  }

  async function fetchWithRetry(
    signal: AbortSignal,
    emit: (event: TokenProviderEvent) => void,
  ): Promise<ReceivedToken> {
    let reauthenticated = false;
    for (let tries = 1; ; tries++) {
      try {
        return await attempt(reauthenticated, signal);
      } catch (error) {
        if (!(error instanceof TokenVendingError) || error.code === 'aborted') throw error;
        // A 401 most often means the Entra token MSAL had cached was refused (expired, revoked,
        // wrong audience): ask getAccessToken for a new one, once, and try again straight away.
        if (error.status === 401 && !reauthenticated) {
          reauthenticated = true;
          tries -= 1;
          continue;
        }
        const askedMs = (error.retryAfterSeconds ?? 0) * 1000;
        // Asking earlier than Retry-After says only earns another refusal: give up at once instead.
        const willRetry = isTransient(error) && tries < maxAttempts && askedMs <= maxDelayMs;
        if (isThrottling(error))
          emit({ type: 'throttled', retryAfterSeconds: error.retryAfterSeconds, willRetry, error });
        if (!willRetry) throw error;
        const delayMs = Math.max(askedMs, backoffDelayMs(tries, baseDelayMs, maxDelayMs, random));
        emit({ type: 'retrying', attempt: tries, maxAttempts, delaySeconds: delayMs / 1000, error });
        await sleep(delayMs, signal);
      }
    }
  }

  function emit(event: TokenProviderEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        // A faulty listener must not fail the callers of getToken; it is reported on its own.
        setTimer(() => {
          throw error;
        }, 0);
      }
    }
  }

  function setCached(received: ReceivedToken | undefined): void {
    cached = received;
    watchExpiry();
  }

  // A timer only while someone listens and a token is cached: nothing else needs to know.
  function watchExpiry(): void {
    if (expiryTimer !== undefined) clearTimer(expiryTimer);
    expiryTimer = undefined;
    const watched = cached;
    if (watched === undefined || listeners.size === 0) return;
    expiryTimer = setTimer(
      () => {
        expiryTimer = undefined;
        if (cached !== watched) return;
        cached = undefined;
        emit({ type: 'expired', token: watched.token });
      },
      Math.max(0, watched.expiresAt - now()),
    );
    // Node's timers keep the process alive; an expiry notice must not (browsers have no unref).
    (expiryTimer as { unref?: () => void } | undefined)?.unref?.();
  }

  function startFlight(): Flight {
    const controller = new AbortController();
    const startedIn = ++generation;
    const emitCurrent = (event: TokenProviderEvent) => {
      if (startedIn === generation) emit(event);
    };
    const promise = fetchWithRetry(controller.signal, emitCurrent).then(
      (received) => {
        if (startedIn === generation) {
          setCached(received);
          emit({ type: 'token', token: received.token });
        }
        return received.token;
      },
      (error: unknown) => {
        // Never hand out a token after a failed refresh: it was close to expiry, or refused.
        if (startedIn === generation) {
          setCached(undefined);
          if (error instanceof TokenVendingError && error.code !== 'aborted') emit({ type: 'error', error });
        }
        throw error;
      },
    );
    const started: Flight = { promise, controller, waiters: 0 };
    const done = () => {
      if (flight === started) flight = undefined;
    };
    promise.then(done, done);
    return started;
  }

  function abandon(abandoned: Flight): void {
    if (flight === abandoned) flight = undefined;
    abandoned.controller.abort();
  }

  return {
    async getToken(getOptions: GetTokenOptions = {}): Promise<VendedToken> {
      const { signal, forceRefresh = false } = getOptions;
      if (signal?.aborted) throw abortedError();
      if (forceRefresh) setCached(undefined);
      if (cached !== undefined && cached.expiresAt - now() > refreshMarginMs) return cached.token;
      flight ??= startFlight();
      const joined = flight;
      joined.waiters += 1;
      if (signal === undefined) return joined.promise;
      return new Promise<VendedToken>((resolve, reject) => {
        const onAbort = () => {
          reject(abortedError());
          joined.waiters -= 1;
          if (joined.waiters === 0) abandon(joined);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        joined.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    },
    invalidate(): void {
      generation += 1;
      setCached(undefined);
      flight = undefined;
    },
    subscribe(listener: TokenProviderListener): () => void {
      listeners.add(listener);
      if (listeners.size === 1) watchExpiry();
      return () => {
        if (listeners.delete(listener) && listeners.size === 0) watchExpiry();
      };
    },
  };
}

function problemError(response: Response, text: string, receivedAt: number): TokenVendingError {
  let problem: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) problem = parsed;
  } catch {
    // Not problem+json (a proxy, a gateway, the platform): fall back to the status.
  }
  const { status } = response;
  const code = typeof problem.code === 'string' && problem.code.length > 0 ? problem.code : `http_${status}`;
  const detail =
    typeof problem.detail === 'string' && problem.detail.length > 0
      ? problem.detail
      : typeof problem.title === 'string' && problem.title.length > 0
        ? problem.title
        : `The token service answered ${status}.`;
  const correlationId =
    typeof problem.correlationId === 'string'
      ? problem.correlationId
      : (response.headers.get('x-correlation-id') ?? undefined);
  // Cross-origin, a browser hides Retry-After unless the API exposes it (CORS); then a
  // `retryAfterSeconds` in the problem body, if the API sends one, stands in for it.
  const retryAfterSeconds =
    parseRetryAfter(response.headers.get('retry-after'), receivedAt) ??
    (typeof problem.retryAfterSeconds === 'number' && problem.retryAfterSeconds >= 0
      ? problem.retryAfterSeconds
      : undefined);
  return new TokenVendingError(code, detail, { status, correlationId, retryAfterSeconds });
}

function abortedError(): TokenVendingError {
  return new TokenVendingError('aborted', 'The token request was aborted.');
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`createTokenProvider: ${name} must be a non-negative number.`);
  return value;
}

/**
 * Read through a call: the signal can abort during any `await`, but TypeScript keeps a property
 * narrowed across awaits and would call a second check dead code.
 */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
