import { describe, expect, it } from 'vitest';
import { createSpeechConfig, createTokenProvider, keepFresh, TokenVendingError, type VendedToken } from '../../client/index.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');

function tokenBody(id: string, expiresInMs = 600_000, region: string | null = 'westeurope'): { accessToken: string; tokenType: string; expiresOn: string; resource: string; kind: string; cloud: string; region: string | null; endpoints: Record<string, string> } {
  return {
    accessToken: `token-${id}`, tokenType: 'Bearer', expiresOn: new Date(NOW + expiresInMs).toISOString(), resource: 'speech',
    kind: 'speech', cloud: 'AzureCloud', region,
    endpoints: region ? { stt: `wss://${region}.stt.speech.microsoft.com` } : { base: 'https://contoso.cognitiveservices.azure.com', stt: 'wss://contoso.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1' },
  };
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A scripted API: each request takes the next answer; requests wait until released when gated. */
function api(answers: Answer[]) {
  const requests: Array<{ url: string; authorization: string | null }> = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    requests.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') });
    const answer = answers.shift() ?? { status: 500 };
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': answer.status === 200 ? 'application/json' : 'application/problem+json', ...answer.headers },
    });
  };
  return { fetch: fetchImpl, requests };
}

function provider(answers: Answer[], overrides: Partial<Parameters<typeof createTokenProvider>[0]> = {}) {
  const clock = { now: NOW };
  const sleeps: number[] = [];
  const entra: boolean[] = [];
  const server = api(answers);
  const tokens = createTokenProvider({
    baseUrl: 'https://func.example/api/',
    resource: 'speech eu',
    getAccessToken: async ({ forceRefresh }) => {
      entra.push(forceRefresh);
      return `entra-${entra.length}`;
    },
    fetch: server.fetch,
    now: () => clock.now,
    sleep: async (ms) => { sleeps.push(ms); clock.now += ms; },
    random: () => 0.5,
    ...overrides,
  });
  return { tokens, clock, sleeps, entra, server };
}

describe('createTokenProvider', () => {
  it('fetches /api/token/{resource} (encoded) with the Entra token and parses the answer', async () => {
    const { tokens, server } = provider([{ status: 200, body: tokenBody('a') }]);
    const token = await tokens.getToken();
    expect(server.requests).toEqual([{ url: 'https://func.example/api/token/speech%20eu', authorization: 'Bearer entra-1' }]);
    expect(token).toMatchObject({ accessToken: 'token-a', region: 'westeurope', expiresOn: new Date(NOW + 600_000) });
  });

  it('serves the cached token, then refreshes ahead of expiry', async () => {
    const { tokens, clock, server } = provider([{ status: 200, body: tokenBody('a') }, { status: 200, body: tokenBody('b', 1_200_000) }]);
    expect((await tokens.getToken()).accessToken).toBe('token-a');
    clock.now += 8 * 60_000;
    expect((await tokens.getToken()).accessToken).toBe('token-a');
    clock.now += 61_000; // 59 s left: inside the 60 s margin
    expect((await tokens.getToken()).accessToken).toBe('token-b');
    expect(server.requests).toHaveLength(2);
  });

  it('joins concurrent callers onto one request', async () => {
    const { tokens, server } = provider([{ status: 200, body: tokenBody('a') }]);
    const all = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken()));
    expect(new Set(all.map((t) => t.accessToken))).toEqual(new Set(['token-a']));
    expect(server.requests).toHaveLength(1);
  });

  it('retries 503 and network errors with jittered backoff, honouring Retry-After on 429', async () => {
    const { tokens, sleeps } = provider([
      { status: 503, body: { code: 'sts_unavailable', detail: 'busy' } },
      { status: 429, body: { code: 'rate_limited', detail: 'slow down' }, headers: { 'retry-after': '7' } },
      { status: 200, body: tokenBody('a') },
    ]);
    expect((await tokens.getToken()).accessToken).toBe('token-a');
    expect(sleeps).toEqual([250, 7000]);
    const flaky = provider([new TypeError('fetch failed'), { status: 200, body: tokenBody('b') }]);
    expect((await flaky.tokens.getToken()).accessToken).toBe('token-b');
  });

  it('gives up after maxAttempts with the last error, and drops the cache', async () => {
    const { tokens, clock } = provider([{ status: 200, body: tokenBody('a') }, { status: 503 }, { status: 503 }, { status: 503 }]);
    await tokens.getToken();
    clock.now += 9.5 * 60_000;
    const error = await tokens.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenVendingError);
    expect(error).toMatchObject({ code: 'http_503', status: 503 });
  });

  it.each([[403, 'forbidden'], [404, 'resource_not_found'], [400, 'bad']])('does not retry %i', async (status, code) => {
    const { tokens, server } = provider([{ status, body: { code, detail: 'no', correlationId: 'c-1' } }]);
    await expect(tokens.getToken()).rejects.toMatchObject({ code, status, detail: 'no', correlationId: 'c-1' });
    expect(server.requests).toHaveLength(1);
  });

  it('on 401 asks for a fresh Entra token once', async () => {
    const { tokens, entra, server } = provider([{ status: 401, body: { code: 'invalid_token' } }, { status: 200, body: tokenBody('a') }]);
    expect((await tokens.getToken()).accessToken).toBe('token-a');
    expect(entra).toEqual([false, true]);
    expect(server.requests.map((r) => r.authorization)).toEqual(['Bearer entra-1', 'Bearer entra-2']);
    const twice = provider([{ status: 401, body: { code: 'invalid_token' } }, { status: 401, body: { code: 'invalid_token' } }]);
    await expect(twice.tokens.getToken()).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('refuses a response that is not a vended token', async () => {
    const { tokens } = provider([{ status: 200, body: { accessToken: 'x', tokenType: 'Bearer', expiresOn: 'soon' } }]);
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('an aborted caller stops waiting; the shared request goes on for others', async () => {
    const { tokens } = provider([{ status: 200, body: tokenBody('a') }]);
    const controller = new AbortController();
    const waiting = tokens.getToken({ signal: controller.signal });
    const other = tokens.getToken();
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'aborted' });
    expect((await other).accessToken).toBe('token-a');
  });

  it('forceRefresh and invalidate drop the cached token', async () => {
    const { tokens, server } = provider([{ status: 200, body: tokenBody('a') }, { status: 200, body: tokenBody('b') }, { status: 200, body: tokenBody('c') }]);
    await tokens.getToken();
    expect((await tokens.getToken({ forceRefresh: true })).accessToken).toBe('token-b');
    tokens.invalidate();
    expect((await tokens.getToken()).accessToken).toBe('token-c');
    expect(server.requests).toHaveLength(3);
  });
});

describe('Speech helpers', () => {
  class FakeConfig {
    authorizationToken = '';
    constructor(readonly how: string) {}
  }
  const sdk = {
    SpeechConfig: {
      fromAuthorizationToken: (token: string, region: string) => Object.assign(new FakeConfig(`region:${region}`), { authorizationToken: token }),
      fromEndpoint: (endpoint: URL) => new FakeConfig(`endpoint:${endpoint.href}`),
    },
  };
  const vended = (body: ReturnType<typeof tokenBody>): VendedToken => ({ ...body, tokenType: 'Bearer', expiresOn: new Date(body.expiresOn) });

  it('builds a SpeechConfig by region, or by endpoint for a custom subdomain', () => {
    expect(createSpeechConfig(sdk, vended(tokenBody('a')))).toMatchObject({ how: 'region:westeurope', authorizationToken: 'token-a' });
    expect(createSpeechConfig(sdk, vended(tokenBody('b', 600_000, null)))).toMatchObject({ how: 'endpoint:https://contoso.cognitiveservices.azure.com/', authorizationToken: 'token-b' });
  });

  it('keepFresh updates long-lived targets with every new token and stops', async () => {
    const { tokens, clock } = provider([{ status: 200, body: tokenBody('a') }, { status: 200, body: tokenBody('b', 1_200_000) }]);
    const recognizer = { authorizationToken: '' };
    const synthesizer = { authorizationToken: '' };
    const ticks: Array<() => void> = [];
    let cleared = false;
    const stop = keepFresh(tokens, [recognizer, synthesizer], {
      setInterval: (callback) => { ticks.push(callback); return 1; },
      clearInterval: () => { cleared = true; },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(recognizer.authorizationToken).toBe('token-a');
    clock.now += 9.5 * 60_000;
    ticks[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect([recognizer.authorizationToken, synthesizer.authorizationToken]).toEqual(['token-b', 'token-b']);
    stop();
    expect(cleared).toBe(true);
  });
});
