import { describe, expect, it, vi } from 'vitest';
import {
  createTokenProvider,
  TokenVendingError,
  type TokenProvider,
  type TokenProviderEvent,
  type TokenProviderOptions,
  type VendedToken,
} from '../../packages/client/src/index.js';
import { NOW, tokenBody, useFakeApis } from './fakeApi.js';

const newApi = useFakeApis();

/** A provider on a scripted API, with the platform's (faked) clock and timers and no jitter surprises. */
function setup(overrides: Partial<TokenProviderOptions> = {}) {
  const api = newApi();
  const entra: boolean[] = [];
  const tokens = createTokenProvider({
    baseUrl: 'https://func.example',
    resource: 'speech',
    getAccessToken: async ({ forceRefresh }) => {
      entra.push(forceRefresh);
      return `entra-${entra.length}`;
    },
    fetch: api.fetch,
    random: () => 0.5,
    ...overrides,
  });
  return { api, tokens, entra };
}

/** Watches a promise without leaving a rejection unhandled while timers are advanced. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

const flush = () => vi.advanceTimersByTimeAsync(0);
const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('request', () => {
  it('GETs {baseUrl}/api/token/{resource} with the Entra token and parses the answer', async () => {
    const { api, tokens } = setup();
    api.token('a');
    const token = await tokens.getToken();
    expect(api.requests).toEqual([
      {
        url: 'https://func.example/api/token/speech',
        method: 'GET',
        authorization: 'Bearer entra-1',
        signal: expect.any(AbortSignal),
      },
    ]);
    expect(token).toEqual<VendedToken>({
      accessToken: 'ai-token-a',
      tokenType: 'Bearer',
      expiresOn: new Date(NOW + 600_000),
      resource: 'speech',
      kind: 'speech',
      cloud: 'AzureCloud',
      region: 'westeurope',
      endpoints: tokenBody('a').endpoints,
      headers: {},
    });
  });

  it('encodes the resource name into one path segment', async () => {
    const { api, tokens } = setup({ resource: 'speech/eu west?x=1#y' });
    api.token('a');
    await tokens.getToken();
    expect(api.requests[0]?.url).toBe('https://func.example/api/token/speech%2Feu%20west%3Fx%3D1%23y');
  });

  it.each(['https://func.example', 'https://func.example/', 'https://func.example/api', 'https://func.example/api/'])(
    'accepts baseUrl %s with or without /api',
    async (baseUrl) => {
      const { api, tokens } = setup({ baseUrl });
      api.token('a');
      await tokens.getToken();
      expect(api.requests[0]?.url).toBe('https://func.example/api/token/speech');
    },
  );

  it('refuses to be created without a resource', () => {
    expect(() => setup({ resource: '' })).toThrow(TypeError);
  });
});

describe('cache', () => {
  it('serves the cached token while more than refreshMarginMs is left, then fetches ahead of expiry', async () => {
    const { api, tokens } = setup();
    api.token('a').token('b', { issuedAt: NOW + 540_000 });
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    await vi.advanceTimersByTimeAsync(539_999); // 60.001 s left
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // 60 s left: inside the default margin
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
    expect(api.requests).toHaveLength(2);
  });

  it('honours a custom refreshMarginMs', async () => {
    const { api, tokens } = setup({ refreshMarginMs: 300_000 });
    api.token('a').token('b');
    await tokens.getToken();
    await vi.advanceTimersByTimeAsync(299_000);
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });

  it('counts the lifetime from expiresInSeconds, so a device clock far ahead still caches', async () => {
    vi.setSystemTime(NOW + 20 * 60_000); // the device is 20 minutes fast: by its clock expiresOn has passed
    const { api, tokens } = setup();
    api.token('a');
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    expect(api.requests).toHaveLength(1);
  });

  it('counts expiresInSeconds from when the request was sent, not from a slow answer', async () => {
    const { api, tokens } = setup();
    const release = api.held('a');
    api.token('b');
    const first = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(5_000); // the answer takes 5 s
    release();
    await flush();
    expect(first.value?.accessToken).toBe('ai-token-a');
    await vi.advanceTimersByTimeAsync(534_999); // 60.001 s left, counted from the send
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    await vi.advanceTimersByTimeAsync(1);
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });

  it('without expiresInSeconds, judges by expiresOn', async () => {
    const { api, tokens } = setup();
    const body: Partial<ReturnType<typeof tokenBody>> = tokenBody('a', { lifetimeMs: 90_000 });
    delete body.expiresInSeconds;
    api.reply(200, body).token('b');
    await tokens.getToken();
    await vi.advanceTimersByTimeAsync(30_000); // 60 s left by expiresOn
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });

  it('forceRefresh and invalidate() skip the cached token', async () => {
    const { api, tokens } = setup();
    api.token('a').token('b').token('c');
    await tokens.getToken();
    expect((await tokens.getToken({ forceRefresh: true })).accessToken).toBe('ai-token-b');
    tokens.invalidate();
    expect((await tokens.getToken()).accessToken).toBe('ai-token-c');
    expect((await tokens.getToken()).accessToken).toBe('ai-token-c');
  });

  it('a failed refresh drops the cache: the old token is not handed out again, even while it is still valid', async () => {
    const { api, tokens } = setup();
    api.token('a').problem(403, 'forbidden').token('b');
    await tokens.getToken();
    await vi.advanceTimersByTimeAsync(545_000); // 55 s left: refresh due
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'forbidden' });
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
    expect(api.requests).toHaveLength(3);
  });

  it('a failed forced refresh leaves no cached token behind', async () => {
    const { api, tokens } = setup({ maxAttempts: 1 });
    api.token('a').problem(503, 'sts_unavailable').token('b');
    await tokens.getToken();
    await expect(tokens.getToken({ forceRefresh: true })).rejects.toMatchObject({ code: 'sts_unavailable' });
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });

  it('a request under way when invalidate() is called answers its callers but is not cached', async () => {
    const { api, tokens } = setup();
    const releaseA = api.held('a');
    api.token('b');
    const before = watch(tokens.getToken());
    await flush();
    tokens.invalidate();
    const after = await tokens.getToken();
    releaseA();
    await flush();
    expect(before.value?.accessToken).toBe('ai-token-a');
    expect(after.accessToken).toBe('ai-token-b');
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });
});

describe('single flight', () => {
  it('joins concurrent callers onto one request', async () => {
    const { api, tokens } = setup();
    const release = api.held('a');
    const seen: string[] = [];
    tokens.subscribe((event) => {
      if (event.type === 'token') seen.push(event.token.accessToken);
    });
    const callers = Array.from({ length: 20 }, (_, i) => tokens.getToken(i % 2 === 0 ? { forceRefresh: true } : {}));
    await flush();
    expect(api.requests).toHaveLength(1);
    release();
    const all = await Promise.all(callers);
    expect(new Set(all.map((t) => t.accessToken))).toEqual(new Set(['ai-token-a']));
    expect(seen).toEqual(['ai-token-a']);
  });

  it('subscribe sees each newly fetched token (not cache hits) until unsubscribed', async () => {
    const { api, tokens } = setup();
    api.token('a').token('b').token('c');
    const seen: string[] = [];
    const unsubscribe = tokens.subscribe((event) => {
      if (event.type === 'token') seen.push(event.token.accessToken);
    });
    await tokens.getToken();
    await tokens.getToken();
    await tokens.getToken({ forceRefresh: true });
    unsubscribe();
    await tokens.getToken({ forceRefresh: true });
    expect(seen).toEqual(['ai-token-a', 'ai-token-b']);
  });
});

describe('events', () => {
  /** Subscribes before anything happens; events as `type` plus what a UI would show. */
  function listen(tokens: TokenProvider) {
    const events: TokenProviderEvent[] = [];
    const unsubscribe = tokens.subscribe((event) => events.push(event));
    const seen = () =>
      events.map((event) => {
        switch (event.type) {
          case 'token':
          case 'expired':
            return `${event.type} ${event.token.accessToken}`;
          case 'retrying':
            return `retrying after attempt ${event.attempt}/${event.maxAttempts} in ${event.delaySeconds} s (${event.error.code})`;
          case 'throttled':
            return `throttled ${event.error.code} retryAfter=${event.retryAfterSeconds} willRetry=${event.willRetry}`;
          case 'error':
            return `error ${event.error.code}`;
        }
      });
    return { events, seen, unsubscribe };
  }

  it('tells listeners about each retry, with the seconds until the next attempt', async () => {
    const { api, tokens } = setup({ random: () => 0.5 });
    const { seen } = listen(tokens);
    api.problem(503, 'sts_unavailable').fail().token('a');
    const result = watch(tokens.getToken());
    await flush();
    expect(seen()).toEqual(['retrying after attempt 1/3 in 0.25 s (sts_unavailable)']);
    await vi.advanceTimersByTimeAsync(250 + 500);
    expect(result.value?.accessToken).toBe('ai-token-a');
    expect(seen()).toEqual([
      'retrying after attempt 1/3 in 0.25 s (sts_unavailable)',
      'retrying after attempt 2/3 in 0.5 s (network_error)',
      'token ai-token-a',
    ]);
  });

  it('a 429 is throttled, then retrying for as long as Retry-After asks', async () => {
    const { api, tokens } = setup();
    const { seen, events } = listen(tokens);
    api.problem(429, 'rate_limited', { 'retry-after': '7' }).token('a');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(7_000);
    expect(result.value?.accessToken).toBe('ai-token-a');
    expect(seen()).toEqual([
      'throttled rate_limited retryAfter=7 willRetry=true',
      'retrying after attempt 1/3 in 7 s (rate_limited)',
      'token ai-token-a',
    ]);
    expect(events[0]).toMatchObject({ error: { status: 429, correlationId: 'corr-rate_limited' } });
  });

  it('a Retry-After beyond maxDelayMs is throttled without a retry, then the error', async () => {
    const { api, tokens } = setup();
    const { seen } = listen(tokens);
    api.problem(429, 'rate_limited', { 'retry-after': '120' });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 120 });
    expect(seen()).toEqual(['throttled rate_limited retryAfter=120 willRetry=false', 'error rate_limited']);
  });

  it("an upstream's throttling (503 *_throttled) is throttled too; a plain 503 is not", async () => {
    const { api, tokens } = setup({ maxAttempts: 1 });
    const { seen } = listen(tokens);
    api.problem(503, 'sts_throttled', {}, { retryAfterSeconds: 3 }).problem(503, 'sts_unavailable');
    await caught(tokens.getToken());
    await caught(tokens.getToken());
    expect(seen()).toEqual([
      'throttled sts_throttled retryAfter=3 willRetry=false',
      'error sts_throttled',
      'error sts_unavailable',
    ]);
  });

  it('one error event per failed refresh, however many callers waited; none for an abort', async () => {
    const { api, tokens } = setup();
    const { seen } = listen(tokens);
    api.problem(403, 'forbidden');
    const errors = await Promise.all([1, 2, 3].map(() => caught(tokens.getToken())));
    expect(errors.map((e) => (e as TokenVendingError).code)).toEqual(['forbidden', 'forbidden', 'forbidden']);
    api.hang();
    const stopping = new AbortController();
    const aborted = caught(tokens.getToken({ signal: stopping.signal }));
    await flush();
    stopping.abort();
    expect(await aborted).toMatchObject({ code: 'aborted' });
    await flush();
    expect(seen()).toEqual(['error forbidden']);
  });

  it('a request made stale by invalidate() sends no events', async () => {
    const { api, tokens } = setup();
    const { seen } = listen(tokens);
    api.problem(503, 'sts_unavailable').token('a');
    const stale = watch(tokens.getToken());
    await flush();
    tokens.invalidate();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stale.value?.accessToken).toBe('ai-token-a');
    expect(seen()).toEqual(['retrying after attempt 1/3 in 0.25 s (sts_unavailable)']);
  });

  it('expired: the cached token reached its expiry with nobody asking for a new one', async () => {
    const { api, tokens } = setup();
    const { seen } = listen(tokens);
    api.token('a').token('b');
    await tokens.getToken();
    await vi.advanceTimersByTimeAsync(599_999);
    expect(seen()).toEqual(['token ai-token-a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen()).toEqual(['token ai-token-a', 'expired ai-token-a']);
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });

  it('a token refreshed in time never expires; invalidate() forgets the expiry too', async () => {
    const { api, tokens } = setup();
    const { seen } = listen(tokens);
    api.token('a').token('b');
    await tokens.getToken();
    await vi.advanceTimersByTimeAsync(550_000);
    await tokens.getToken(); // inside the margin: a new one
    await vi.advanceTimersByTimeAsync(100_000);
    tokens.invalidate();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(seen()).toEqual(['token ai-token-a', 'token ai-token-b']);
  });

  it('keeps an expiry timer only while someone listens, and unrefs it (Node must be free to exit)', async () => {
    const unrefs: number[] = [];
    const { api, tokens } = setup({
      setTimeout: (callback, ms) => {
        const handle = setTimeout(callback, ms);
        return { handle, unref: () => unrefs.push(ms) };
      },
      clearTimeout: (handle) => {
        clearTimeout((handle as { handle: ReturnType<typeof setTimeout> }).handle);
      },
    });
    api.token('a');
    await tokens.getToken();
    expect(vi.getTimerCount()).toBe(0);
    const { seen, unsubscribe } = listen(tokens);
    expect(vi.getTimerCount()).toBe(1);
    expect(unrefs).toEqual([600_000]);
    unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(seen()).toEqual([]);
  });

  it('a listener that throws does not stop the others nor fail getToken; its error surfaces from a timer', async () => {
    const { api, tokens } = setup();
    const thrown = new Error('listener bug');
    tokens.subscribe(() => {
      throw thrown;
    });
    const { seen } = listen(tokens);
    api.token('a');
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    expect(seen()).toEqual(['token ai-token-a']);
    expect(() => vi.advanceTimersByTime(0)).toThrow(thrown);
  });
});

describe('retries', () => {
  it('retries a 503 with jittered exponential backoff', async () => {
    const { api, tokens } = setup({ random: () => 0.5 });
    api.problem(503, 'sts_unavailable').problem(503, 'sts_unavailable').token('a');
    const result = watch(tokens.getToken());
    await flush();
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(249); // 0.5 · 500 ms
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(499); // 0.5 · 1000 ms
    expect(api.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('draws the jitter from random() in [0, base · 2^(n-1)]', async () => {
    const { api, tokens } = setup({ random: () => 0, baseDelayMs: 1_000 });
    api.problem(500, 'internal_error').token('a');
    const result = watch(tokens.getToken());
    await flush();
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('waits as long as a 429 Retry-After asks, then retries', async () => {
    const { api, tokens } = setup();
    api.problem(429, 'rate_limited', { 'retry-after': '7' }).token('a');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(6_999);
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.requests).toHaveLength(2);
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('takes Retry-After as an HTTP date too', async () => {
    const { api, tokens } = setup();
    api.problem(503, 'sts_throttled', { 'retry-after': new Date(NOW + 4_000).toUTCString() }).token('a');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(3_999);
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('does not wait longer than maxDelayMs: a longer Retry-After is thrown at once, with retryAfterSeconds', async () => {
    const { api, tokens } = setup();
    api.problem(429, 'rate_limited', { 'retry-after': '120' });
    const error = await caught(tokens.getToken());
    expect(error).toBeInstanceOf(TokenVendingError);
    expect(error).toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterSeconds: 120,
      correlationId: 'corr-rate_limited',
    });
    expect(api.requests).toHaveLength(1);
  });

  it('reads retryAfterSeconds from the problem body when the header is hidden (CORS)', async () => {
    const { api, tokens } = setup({ maxAttempts: 1 });
    api.problem(429, 'rate_limited', {}, { retryAfterSeconds: 9 });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 9 });
  });

  it('retries network errors', async () => {
    const { api, tokens } = setup();
    api.fail(new TypeError('Failed to fetch')).token('a');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(250);
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('times an attempt out after attemptTimeoutMs and retries', async () => {
    const { api, tokens } = setup({ attemptTimeoutMs: 5_000 });
    api.hang().token('a');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(4_999);
    expect(api.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.requests[0]?.signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(250);
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { api, tokens } = setup();
    api.problem(503, 'sts_unavailable').fail().problem(504, 'sts_timeout');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(result.error).toBeInstanceOf(TokenVendingError);
    expect(result.error).toMatchObject({
      code: 'sts_timeout',
      status: 504,
      detail: 'detail for sts_timeout',
      correlationId: 'corr-sts_timeout',
    });
    expect(api.requests).toHaveLength(3);
  });

  it('a network error carries code network_error, the cause, and a hint', async () => {
    const { api, tokens } = setup({ maxAttempts: 1 });
    const cause = new TypeError('Failed to fetch');
    api.fail(cause);
    const error = await caught(tokens.getToken());
    expect(error).toMatchObject({ code: 'network_error', status: undefined, cause });
    expect((error as TokenVendingError).detail).toContain('CORS');
  });

  it.each([
    [400, 'bad_request'],
    [403, 'forbidden'],
    [404, 'resource_not_found'],
    [502, 'key_rejected'],
  ])('does not retry %i (%s)', async (status, code) => {
    const { api, tokens } = setup();
    api.problem(status, code);
    await expect(tokens.getToken()).rejects.toMatchObject({
      code,
      status,
      detail: `detail for ${code}`,
      correlationId: `corr-${code}`,
    });
    expect(api.requests).toHaveLength(1);
  });

  it('retries a bare 502 from a gateway, and names a non-problem answer http_<status>', async () => {
    const { api, tokens } = setup({ maxAttempts: 2 });
    api
      .raw(502, '<html>Bad Gateway</html>', { 'content-type': 'text/html', 'x-correlation-id': 'from-header' })
      .raw(500, '');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(api.requests).toHaveLength(2);
    expect(result.error).toMatchObject({ code: 'http_500', status: 500, detail: 'The token service answered 500.' });
    const first = setup({ maxAttempts: 1 });
    first.api.raw(502, 'Bad Gateway', { 'x-correlation-id': 'from-header' });
    await expect(first.tokens.getToken()).rejects.toMatchObject({ code: 'http_502', correlationId: 'from-header' });
  });
});

describe('401', () => {
  it('asks getAccessToken for a fresh Entra token once, and tries again at once', async () => {
    const { api, tokens, entra } = setup();
    api.problem(401, 'invalid_token', { 'www-authenticate': 'Bearer error="invalid_token"' }).token('a');
    expect((await tokens.getToken()).accessToken).toBe('ai-token-a');
    expect(entra).toEqual([false, true]);
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer entra-1', 'Bearer entra-2']);
  });

  it('a second 401 is thrown', async () => {
    const { api, tokens, entra } = setup();
    api.problem(401, 'invalid_token').problem(401, 'invalid_token');
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
    expect(entra).toEqual([false, true]);
  });

  it('the re-authenticated attempt does not use up a transient attempt', async () => {
    const { api, tokens } = setup({ maxAttempts: 2 });
    api.problem(401, 'invalid_token').problem(503, 'sts_unavailable').token('a');
    const result = watch(tokens.getToken());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(result.value?.accessToken).toBe('ai-token-a');
  });

  it('a failing getAccessToken is access_token_unavailable, with its error as the cause, and no request', async () => {
    const cause = new Error('interaction_required');
    const { api, tokens } = setup({ getAccessToken: () => Promise.reject(cause) });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'access_token_unavailable', cause });
    const empty = setup({ getAccessToken: () => '' });
    await expect(empty.tokens.getToken()).rejects.toMatchObject({ code: 'access_token_unavailable' });
    expect(api.requests).toHaveLength(0);
    expect(empty.api.requests).toHaveLength(0);
  });
});

describe('invalid responses', () => {
  const valid = tokenBody('a');
  it.each<[string, unknown]>([
    ['not an object', [valid]],
    ['no accessToken', { ...valid, accessToken: '' }],
    ['another tokenType', { ...valid, tokenType: 'SharedKey' }],
    ['expiresOn not a date', { ...valid, expiresOn: 'soon' }],
    ['expiresOn a number', { ...valid, expiresOn: NOW + 600_000 }],
    ['no resource', { ...valid, resource: undefined }],
    ['no kind', { ...valid, kind: 7 }],
    ['no cloud', { ...valid, cloud: null }],
    ['region a number', { ...valid, region: 1 }],
    ['region missing', { ...valid, region: undefined }],
    ['endpoints a list', { ...valid, endpoints: ['wss://x'] }],
  ])('refuses a body with %s', async (_why, body) => {
    const { api, tokens } = setup();
    api.reply(200, body);
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
    expect(api.requests).toHaveLength(1);
  });

  it('refuses a 200 that is not JSON (e.g. a web page at the wrong baseUrl)', async () => {
    const { api, tokens } = setup();
    api.raw(200, '<!doctype html><title>Your app</title>', { 'content-type': 'text/html' });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('ignores unknown fields and non-string endpoints, so the API can grow', async () => {
    const { api, tokens } = setup();
    api.reply(200, { ...valid, extra: { nested: true }, endpoints: { ...valid.endpoints, future: { url: 'x' } } });
    const token = await tokens.getToken();
    expect(token.endpoints).toEqual(valid.endpoints);
    expect(token).not.toHaveProperty('extra');
  });
});

describe('abort', () => {
  it('an already aborted signal rejects at once, with no request', async () => {
    const { tokens } = setup();
    await expect(tokens.getToken({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('an aborted caller stops waiting; the shared request goes on for the others', async () => {
    const { api, tokens } = setup();
    const release = api.held('a');
    const controller = new AbortController();
    const leaving = watch(tokens.getToken({ signal: controller.signal }));
    const staying = watch(tokens.getToken());
    await flush();
    controller.abort();
    await flush();
    expect(leaving.error).toMatchObject({ code: 'aborted' });
    expect(api.requests[0]?.signal?.aborted).toBe(false);
    release();
    await flush();
    expect(staying.value?.accessToken).toBe('ai-token-a');
  });

  it('when every waiting caller has aborted, the request itself is aborted and the next caller starts afresh', async () => {
    const { api, tokens } = setup();
    api.hang().token('b');
    const controller = new AbortController();
    const leaving = watch(tokens.getToken({ signal: controller.signal }));
    await flush();
    controller.abort();
    await flush();
    expect(leaving.error).toMatchObject({ code: 'aborted' });
    expect(api.requests[0]?.signal?.aborted).toBe(true);
    expect((await tokens.getToken()).accessToken).toBe('ai-token-b');
  });

  it('aborting during a backoff wait stops the retries', async () => {
    const { api, tokens } = setup();
    api.problem(503, 'sts_unavailable');
    const controller = new AbortController();
    const result = watch(tokens.getToken({ signal: controller.signal }));
    await flush();
    controller.abort();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(result.error).toMatchObject({ code: 'aborted' });
    expect(api.requests).toHaveLength(1);
  });
});

describe('secrecy', () => {
  it('never logs, and no error carries a token', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation(() => undefined),
    );
    try {
      const { api, tokens } = setup({ maxAttempts: 2 });
      api.problem(401, 'invalid_token').problem(401, 'invalid_token').token('a').fail().problem(503, 'sts_unavailable');
      const errors: unknown[] = [await caught(tokens.getToken())];
      await tokens.getToken();
      const last = watch(tokens.getToken({ forceRefresh: true }));
      await vi.advanceTimersByTimeAsync(1_000);
      errors.push(last.error);
      for (const error of errors) {
        expect(error).toBeInstanceOf(TokenVendingError);
        const text = `${String(error)} ${JSON.stringify(error)} ${(error as TokenVendingError).detail}`;
        expect(text).not.toMatch(/entra-\d|ai-token-/);
      }
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
