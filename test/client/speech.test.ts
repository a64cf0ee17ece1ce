import { describe, expect, it, vi } from 'vitest';
import {
  createSpeechConfig,
  createTokenProvider,
  keepFresh,
  TokenVendingError,
  type VendedToken,
} from '../../packages/client/src/index.js';
import { NOW, tokenBody, useFakeApis } from './fakeApi.js';

/** Stands in for the Speech SDK's SpeechConfig: records how it was made. */
class FakeSpeechConfig {
  authorizationToken = '';
  constructor(readonly madeWith: { readonly method: string; readonly args: readonly unknown[] }) {}
}

function fakeSdk() {
  return {
    SpeechConfig: {
      fromAuthorizationToken: vi.fn((token: string, region: string) =>
        Object.assign(new FakeSpeechConfig({ method: 'fromAuthorizationToken', args: [token, region] }), {
          authorizationToken: token,
        }),
      ),
      fromEndpoint: vi.fn((...args: [URL]) => new FakeSpeechConfig({ method: 'fromEndpoint', args })),
    },
  };
}

function vended(id: string, region: string | null = 'westeurope'): VendedToken {
  const body = tokenBody(id, { region });
  return { ...body, tokenType: 'Bearer', expiresOn: new Date(body.expiresOn) };
}

describe('createSpeechConfig', () => {
  it('a regional resource: fromAuthorizationToken(token, region)', () => {
    const sdk = fakeSdk();
    const config = createSpeechConfig(sdk, vended('a', 'chinaeast2'));
    expect(config.madeWith).toEqual({ method: 'fromAuthorizationToken', args: ['ai-token-a', 'chinaeast2'] });
    expect(config.authorizationToken).toBe('ai-token-a');
    expect(sdk.SpeechConfig.fromEndpoint).not.toHaveBeenCalled();
  });

  it('a custom subdomain: fromEndpoint(URL of endpoints.stt) with the URL alone, then the token set', () => {
    const sdk = fakeSdk();
    const config = createSpeechConfig(sdk, vended('a', null));
    expect(config.madeWith.method).toBe('fromEndpoint');
    expect(config.madeWith.args).toHaveLength(1);
    expect(config.madeWith.args[0]).toBeInstanceOf(URL);
    expect(String(config.madeWith.args[0])).toBe(
      'wss://contoso.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
    );
    expect(config.authorizationToken).toBe('ai-token-a');
    expect(sdk.SpeechConfig.fromAuthorizationToken).not.toHaveBeenCalled();
  });

  it('a custom subdomain for a synthesizer: { service: "tts" } uses endpoints.tts', () => {
    const config = createSpeechConfig(fakeSdk(), vended('a', null), { service: 'tts' });
    expect(String(config.madeWith.args[0])).toBe(
      'wss://contoso.cognitiveservices.azure.com/tts/cognitiveservices/websocket/v1',
    );
  });

  it('an explicit endpoint wins over region and endpoints, and still carries the token', () => {
    const config = createSpeechConfig(fakeSdk(), vended('a'), {
      endpoint: 'wss://speech.internal.example/stt/speech/recognition/conversation/cognitiveservices/v1',
    });
    expect(config.madeWith.method).toBe('fromEndpoint');
    expect(String(config.madeWith.args[0])).toBe(
      'wss://speech.internal.example/stt/speech/recognition/conversation/cognitiveservices/v1',
    );
    expect(config.authorizationToken).toBe('ai-token-a');
    const url = new URL('wss://other.example/x');
    expect(createSpeechConfig(fakeSdk(), vended('b', null), { endpoint: url }).madeWith.args[0]).toBe(url);
  });

  it('no region and no endpoint for the service is an invalid_response', () => {
    const token = { ...vended('a', null), endpoints: { base: 'https://contoso.cognitiveservices.azure.com' } };
    const attempt = () => createSpeechConfig(fakeSdk(), token);
    expect(attempt).toThrow(TokenVendingError);
    expect(attempt).toThrow(/endpoints\.stt/);
  });
});

describe('keepFresh', () => {
  const newApi = useFakeApis();

  function setup(maxAttempts = 3) {
    const api = newApi();
    const tokens = createTokenProvider({
      baseUrl: 'https://func.example',
      resource: 'speech',
      getAccessToken: () => 'entra',
      fetch: api.fetch,
      random: () => 0.5,
      maxAttempts,
    });
    return { api, tokens };
  }

  it('sets the token on every target at once, and a new one on all of them before the old one expires', async () => {
    const { api, tokens } = setup();
    api.token('a').token('b', { issuedAt: NOW + 540_000 });
    const recognizer = { authorizationToken: '' };
    const synthesizer = { authorizationToken: '' };
    const stop = keepFresh(tokens, [recognizer, synthesizer]);
    await vi.advanceTimersByTimeAsync(0);
    expect([recognizer.authorizationToken, synthesizer.authorizationToken]).toEqual(['ai-token-a', 'ai-token-a']);
    await vi.advanceTimersByTimeAsync(510_000); // 90 s left: checks so far were cache hits
    expect(api.requests).toHaveLength(1);
    expect(recognizer.authorizationToken).toBe('ai-token-a');
    await vi.advanceTimersByTimeAsync(30_000); // 60 s left: the check refreshes
    expect(api.requests).toHaveLength(2);
    expect([recognizer.authorizationToken, synthesizer.authorizationToken]).toEqual(['ai-token-b', 'ai-token-b']);
    stop();
  });

  it('takes one target as well as a list, and applies tokens other callers fetched', async () => {
    const { api, tokens } = setup();
    api.token('a').token('b');
    const recognizer = { authorizationToken: '' };
    const stop = keepFresh(tokens, recognizer);
    await vi.advanceTimersByTimeAsync(0);
    expect(recognizer.authorizationToken).toBe('ai-token-a');
    await tokens.getToken({ forceRefresh: true }); // e.g. the app saw a 401 from the service
    expect(recognizer.authorizationToken).toBe('ai-token-b');
    stop();
  });

  it('stops: no timer left, no more requests, and targets are left alone', async () => {
    const { api, tokens } = setup();
    api.token('a').token('b');
    const recognizer = { authorizationToken: '' };
    const stop = keepFresh(tokens, recognizer, { checkEveryMs: 10_000 });
    await vi.advanceTimersByTimeAsync(0);
    stop();
    stop(); // twice is harmless
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(api.requests).toHaveLength(1);
    await tokens.getToken({ forceRefresh: true });
    expect(recognizer.authorizationToken).toBe('ai-token-a');
  });

  it('stopping while a refresh is under way abandons it without reporting an error', async () => {
    const { api, tokens } = setup();
    api.hang();
    const onError = vi.fn();
    const recognizer = { authorizationToken: 'initial' };
    const stop = keepFresh(tokens, recognizer, { onError });
    await vi.advanceTimersByTimeAsync(0);
    stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.requests[0]?.signal?.aborted).toBe(true);
    expect(onError).not.toHaveBeenCalled();
    expect(recognizer.authorizationToken).toBe('initial');
  });

  it('reports a failed refresh to onError and keeps checking', async () => {
    const { api, tokens } = setup(1);
    api.problem(403, 'forbidden').token('a');
    const errors: unknown[] = [];
    const recognizer = { authorizationToken: 'initial' };
    const stop = keepFresh(tokens, recognizer, { onError: (error) => errors.push(error), checkEveryMs: 5_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([expect.objectContaining({ code: 'forbidden' })]);
    expect(recognizer.authorizationToken).toBe('initial');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(recognizer.authorizationToken).toBe('ai-token-a');
    stop();
  });

  it('uses injected timers', async () => {
    const { api, tokens } = setup();
    api.token('a');
    const scheduled: { callback: () => void; ms: number }[] = [];
    const cleared: unknown[] = [];
    const stop = keepFresh(
      tokens,
      { authorizationToken: '' },
      {
        checkEveryMs: 1_234,
        setTimeout: (callback, ms) => scheduled.push({ callback, ms }),
        clearTimeout: (handle) => cleared.push(handle),
      },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(scheduled.map((s) => s.ms)).toEqual([1_234]);
    stop();
    expect(cleared).toEqual([1]);
  });

  it('refuses a non-positive checkEveryMs', () => {
    const { tokens } = setup();
    expect(() => keepFresh(tokens, [], { checkEveryMs: 0 })).toThrow(RangeError);
  });
});
