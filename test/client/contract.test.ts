import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpeechConfig, createTokenProvider, requestHeaders, type FetchLike } from '@ai-token-vending/client';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * The client against the real handlers (with the wire-level fakes behind them): the answers it
 * parses and the endpoint keys the Speech helper reads are the ones the service really sends.
 * Imported by its package name, so this runs the built package as an app resolves it.
 */
let harness: Harness;
const requested: string[] = [];

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness.close();
});

/** `fetch` onto the handlers: what the API answers, as a platform Response. */
const handlersFetch: FetchLike = async (url, init) => {
  const { pathname } = new URL(url);
  requested.push(pathname);
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  const answer = await harness.call(init.method ?? 'GET', pathname, headers);
  return new Response(answer.body || null, { status: answer.status, headers: answer.headers });
};

function provider(resource: string, claims: Record<string, unknown> = {}) {
  const forced: boolean[] = [];
  const tokens = createTokenProvider({
    baseUrl: 'http://localhost:7071/api',
    resource,
    fetch: handlersFetch,
    getAccessToken: ({ forceRefresh }) => {
      forced.push(forceRefresh);
      return harness.callerToken(claims);
    },
  });
  return { tokens, forced };
}

class RecordingSpeechConfig {
  authorizationToken = '';
  constructor(readonly made: string) {}
}
const sdk = {
  SpeechConfig: {
    fromAuthorizationToken: (token: string, region: string) =>
      Object.assign(new RecordingSpeechConfig(`region ${region}`), { authorizationToken: token }),
    fromEndpoint: (endpoint: URL) => new RecordingSpeechConfig(`endpoint ${endpoint.href}`),
  },
};

describe('client against the service', () => {
  it.each([
    ['speech', 'japanwest', 'AzureCloud'],
    ['speech-cn', 'chinaeast2', 'AzureChinaCloud'],
    ['speech-gov', 'usgovvirginia', 'AzureUSGovernment'],
  ])('%s: a regional token, and a SpeechConfig by region', async (resource, region, cloud) => {
    const token = await provider(resource).tokens.getToken();
    expect(token).toMatchObject({ tokenType: 'Bearer', resource, kind: 'speech', cloud, region });
    expect(token.expiresOn.getTime()).toBeGreaterThan(Date.now());
    expect(Object.keys(token.endpoints)).toEqual(expect.arrayContaining(['stt', 'tts', 'sttRest', 'ttsRest']));
    const config = createSpeechConfig(sdk, token);
    expect(config).toMatchObject({ made: `region ${region}`, authorizationToken: token.accessToken });
  });

  it('speech-custom: region null, and SpeechConfigs from the stt and tts WebSocket endpoints', async () => {
    const token = await provider('speech-custom').tokens.getToken();
    expect(token.region).toBeNull();
    expect(createSpeechConfig(sdk, token)).toMatchObject({
      made: 'endpoint wss://contoso-speech.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
      authorizationToken: token.accessToken,
    });
    expect(createSpeechConfig(sdk, token, { service: 'tts' })).toMatchObject({
      made: 'endpoint wss://contoso-speech.cognitiveservices.azure.com/tts/cognitiveservices/websocket/v1',
      authorizationToken: token.accessToken,
    });
  });

  it('translator: a token with its text endpoint', async () => {
    const token = await provider('translator').tokens.getToken();
    expect(token).toMatchObject({ kind: 'translator', region: 'global' });
    expect(token.endpoints.text).toMatch(/^https:\/\//);
  });

  it('multi: Speech and Translator endpoints, the Translator header in requestHeaders, and a regional SpeechConfig', async () => {
    const token = await provider('multi').tokens.getToken();
    expect(token).toMatchObject({ kind: 'cognitive', region: 'eastus' });
    expect(requestHeaders(token, 'text')).toEqual({
      Authorization: `Bearer ${token.accessToken}`,
      'Ocp-Apim-Subscription-Region': 'eastus',
    });
    expect(createSpeechConfig(sdk, token)).toMatchObject({ made: 'region eastus' });
  });

  it('403 and 404 arrive as TokenVendingError with the service code, detail and correlation id', async () => {
    await expect(provider('speech', { roles: [] }).tokens.getToken()).rejects.toMatchObject({
      name: 'TokenVendingError',
      code: 'forbidden',
      status: 403,
      correlationId: expect.any(String),
    });
    await expect(provider('no such/thing').tokens.getToken()).rejects.toMatchObject({
      code: 'resource_not_found',
      status: 404,
      detail: expect.any(String),
    });
    expect(requested).toContain('/api/token/no%20such%2Fthing');
  });

  it('a 401 makes it ask for a fresh Entra token once, and the fresh one works', async () => {
    let calls = 0;
    const tokens = createTokenProvider({
      baseUrl: 'http://localhost:7071',
      resource: 'speech',
      fetch: handlersFetch,
      getAccessToken: async ({ forceRefresh }) => {
        calls += 1;
        return forceRefresh ? harness.callerToken() : harness.callerToken({ aud: 'api://someone-else' });
      },
    });
    expect((await tokens.getToken()).resource).toBe('speech');
    expect(calls).toBe(2);
  });
});
