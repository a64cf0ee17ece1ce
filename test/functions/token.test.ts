import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkedAnswers } from '../support/contract.js';
import { AUDIENCE, expectNoKeys, KEYS, RESOURCES, startHarness, TENANT_ID, type Harness } from '../support/harness.js';

/** The parts of a token answer these tests read. */
interface VendedTokenBody {
  accessToken: string;
  kind: string;
  region: string | null;
  endpoints: Record<string, string | undefined>;
  headers: Record<string, Record<string, string>>;
}

let h: Harness;
const seen: string[] = [];
const logLines: string[] = [];

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  seen.push(...h.logs.map((l) => l.text));
  logLines.push(...h.logs.map((l) => l.text));
  await h.close();
});
afterAll(() => {
  // Every response body, header and log line of this file, scanned for every test key.
  expectNoKeys(seen.join('\n'));
  // Neither caller tokens nor vended tokens (both JWTs) ever reach the log.
  expect(logLines.length).toBeGreaterThan(50);
  expect(logLines.join('\n')).not.toMatch(/eyJ[\w-]+\.eyJ/);
  // The harness checked every answer against openapi.json; these are the kinds this file met.
  const statuses = new Set([...checkedAnswers].map((key) => key.split(' ').slice(0, 3).join(' ')));
  const token = '/api/token/{resource}';
  expect([...statuses]).toEqual(
    expect.arrayContaining([
      `GET ${token} 200`,
      `POST ${token} 200`,
      'GET /api/resources 200',
      'GET /api/health 200',
      ...[401, 403, 404, 429, 502, 503, 504].map((status) => `GET ${token} ${status}`),
      'GET /api/resources 401',
    ]),
  );
});

async function get(path: string, token?: string, extra: Record<string, string> = {}) {
  const response = await h.call('GET', path, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra });
  seen.push(JSON.stringify(response));
  return response;
}

describe('GET /api/token/{resource}', () => {
  it.each([
    [
      'speech',
      'AzureCloud',
      'japanwest',
      'japanwest.api.cognitive.microsoft.com',
      'wss://japanwest.stt.speech.microsoft.com',
    ],
    [
      'speech-cn',
      'AzureChinaCloud',
      'chinaeast2',
      'chinaeast2.api.cognitive.azure.cn',
      'wss://chinaeast2.stt.speech.azure.cn',
    ],
    [
      'speech-gov',
      'AzureUSGovernment',
      'usgovvirginia',
      'usgovvirginia.api.cognitive.microsoft.us',
      'wss://usgovvirginia.stt.speech.azure.us',
    ],
    [
      'speech-custom',
      'AzureCloud',
      null,
      'contoso-speech.cognitiveservices.azure.com',
      'wss://contoso-speech.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
    ],
  ])('vends a %s token from its own STS (%s %s)', async (resource, cloud, region, stsHost, stt) => {
    const response = await get(`/api/token/${resource}`, await h.callerToken());
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const body = response.json as Record<string, unknown>;
    expect(body).toMatchObject({ tokenType: 'Bearer', resource, kind: 'speech', cloud, region });
    expect(body.accessToken).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]*$/));
    expect((body.endpoints as Record<string, string>).stt).toBe(stt);
    expect(Date.parse(body.expiresOn as string)).toBe(h.clock.now - (h.clock.now % 1000) + 600_000);
    expect(body.expiresInSeconds).toBeGreaterThan(590);
    expect(h.cognitive.calls.map((c) => `${c.host}${c.path} ${c.status}`)).toEqual([
      `${stsHost}/sts/v1.0/issueToken 200`,
    ]);
  });

  it('a custom subdomain without a private endpoint: the SDK through the subdomain, REST at its region, and the REST host takes the token', async () => {
    const body = (await get('/api/token/speech-custom', await h.callerToken())).json as VendedTokenBody;
    expect(body.region).toBeNull();
    expect(body.endpoints).toMatchObject({
      base: 'https://contoso-speech.cognitiveservices.azure.com',
      tts: 'wss://contoso-speech.cognitiveservices.azure.com/tts/cognitiveservices/websocket/v1',
      voicesList: 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list',
      avatarRelay: 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1',
    });
    const voices = await h.cognitive.fetch(body.endpoints.voicesList ?? '', {
      headers: { Authorization: `Bearer ${body.accessToken}` },
    });
    expect(voices.status).toBe(200);
    // Where the endpoints used to point: the subdomain answers 404 without a private endpoint.
    const atSubdomain = await h.cognitive.fetch(
      'https://contoso-speech.cognitiveservices.azure.com/tts/cognitiveservices/voices/list',
      {
        headers: { Authorization: `Bearer ${body.accessToken}` },
      },
    );
    expect(atSubdomain.status).toBe(404);
  });

  it('a multi-service resource: every service its key serves, with the header Translator needs', async () => {
    const body = (await get('/api/token/multi', await h.callerToken())).json as VendedTokenBody;
    expect(body).toMatchObject({ kind: 'cognitive', region: 'eastus' });
    expect(body.endpoints).toEqual({
      base: 'https://eastus.api.cognitive.microsoft.com',
      stt: 'wss://eastus.stt.speech.microsoft.com',
      tts: 'wss://eastus.tts.speech.microsoft.com',
      sttRest: 'https://eastus.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1',
      ttsRest: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/v1',
      voicesList: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/voices/list',
      avatarRelay: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1',
      text: 'https://api.cognitive.microsofttranslator.com',
    });
    expect(body.headers).toEqual({ text: { 'Ocp-Apim-Subscription-Region': 'eastus' } });
    const voices = await h.cognitive.fetch(body.endpoints.voicesList ?? '', {
      headers: { Authorization: `Bearer ${body.accessToken}` },
    });
    expect(voices.status).toBe(200);
  });

  it('vends a global Translator token to a caller with the delegated scope', async () => {
    const response = await get(
      '/api/token/translator',
      await h.callerToken({ roles: undefined, scp: 'openid Translator.Use' }),
    );
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      kind: 'translator',
      region: 'global',
      endpoints: { text: 'https://api.cognitive.microsofttranslator.com' },
    });
    expect(h.cognitive.calls[0]?.host).toBe('api.cognitive.microsoft.com');
  });

  it('accepts POST and a v1.0 access token (issuer sts.windows.net, appid instead of azp)', async () => {
    const token = await h.callerToken({
      iss: `https://sts.windows.net/${TENANT_ID}/`,
      ver: '1.0',
      appid: 'client-app',
      azp: undefined,
    });
    const response = await h.call('POST', '/api/token/speech', { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
  });

  it('serves every caller from one cached token: one Key Vault read, one STS call', async () => {
    const first = await get('/api/token/speech', await h.callerToken());
    const second = await get('/api/token/speech', await h.callerToken({ oid: 'someone-else' }));
    expect((second.json as { accessToken: string }).accessToken).toBe(
      (first.json as { accessToken: string }).accessToken,
    );
    expect(h.cognitive.stsCalls()).toBe(1);
    expect(h.vault.requests.get).toBe(1);
  });

  it('hundreds of concurrent cold requests cost one Key Vault read and one STS call', async () => {
    const token = await h.callerToken();
    const responses = await Promise.all(
      Array.from({ length: 300 }, () => h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(responses.map((r) => (r.json as { accessToken: string }).accessToken)).size).toBe(1);
    expect(h.vault.requests.get).toBe(1);
    expect(h.cognitive.stsCalls()).toBe(1);
  });

  it('refreshes ahead of expiry and never hands out an expired token', async () => {
    const token = await h.callerToken({ exp: Math.floor(h.clock.now / 1000) + 7200 });
    const first = (await get('/api/token/speech', token)).json as { accessToken: string; expiresOn: string };
    h.clock.now += 11 * 60_000;
    const later = (await get('/api/token/speech', token)).json as { accessToken: string; expiresOn: string };
    expect(later.accessToken).not.toBe(first.accessToken);
    expect(Date.parse(later.expiresOn)).toBeGreaterThan(h.clock.now);
    expect(h.cognitive.stsCalls()).toBe(2);
  });

  it('logs a background refresh that fails, with its code and fix, while still serving', async () => {
    const token = await h.callerToken({ exp: Math.floor(h.clock.now / 1000) + 7200 });
    const first = (await get('/api/token/speech', token)).json as { accessToken: string };
    h.cognitive.setKeys([]);
    h.clock.now += 8.5 * 60_000; // 90 s left: served, and refreshed in the background
    expect(((await get('/api/token/speech', token)).json as { accessToken: string }).accessToken).toBe(
      first.accessToken,
    );
    await expect.poll(() => h.logText()).toContain('background_refresh_failed');
    expect(h.logText()).toMatch(/background_refresh_failed speech key_rejected/);
  });

  it('a failing refresh in the refresh-ahead window is retried once per cooldown, not per request', async () => {
    const token = await h.callerToken({ exp: Math.floor(h.clock.now / 1000) + 7200 });
    const first = (await get('/api/token/speech', token)).json as { accessToken: string };
    h.cognitive.script('*', { status: 503 });
    h.clock.now += 8.5 * 60_000; // 90 s left: served, refreshed in the background
    for (let i = 0; i < 50; i++) {
      const during = await get('/api/token/speech', token);
      expect((during.json as { accessToken: string }).accessToken).toBe(first.accessToken);
    }
    const failures = () => h.logs.filter((line) => line.text.includes('background_refresh_failed')).length;
    await expect.poll(failures).toBe(1);
    expect(h.cognitive.stsCalls()).toBe(1 + 3); // the first token, then one refresh of 3 attempts
    h.clock.now += 2000; // the cooldown runs from the failed attempt
    await get('/api/token/speech', token);
    await expect.poll(failures).toBe(2);
    expect(h.cognitive.stsCalls()).toBe(1 + 3 + 3);
  });

  it('a Key Vault outage past the secret cache age: the key read before keeps being exchanged', async () => {
    const token = await h.callerToken({ exp: Math.floor(h.clock.now / 1000) + 7200 });
    expect((await get('/api/token/speech', token)).status).toBe(200);
    h.vault.failNext(1000, 503);
    h.clock.now += 61 * 60_000; // past the token's life and the secret's 60-minute age (SECRET_MAX_AGE_MINUTES)
    const response = await get('/api/token/speech', token);
    expect(response.status).toBe(200);
    expect(h.cognitive.stsCalls()).toBe(2);
    expect(h.logText()).toMatch(/secret_read_failed_kept_cached speech-key keyvault_unavailable/);
  });

  it('keeps serving a still-valid token while the STS is down', async () => {
    const token = await h.callerToken({ exp: Math.floor(h.clock.now / 1000) + 7200 });
    const first = (await get('/api/token/speech', token)).json as { accessToken: string };
    h.cognitive.script('*', { status: 503 });
    h.clock.now += 9 * 60_000; // 1 minute left
    const during = await get('/api/token/speech', token);
    expect(during.status).toBe(200);
    expect((during.json as { accessToken: string }).accessToken).toBe(first.accessToken);
    h.clock.now += 2 * 60_000; // expired: no stale token
    const after = await get('/api/token/speech', token);
    expect(after.status).toBe(503);
    expect(after.json).toMatchObject({ code: 'sts_unavailable' });
  });
});

describe('caller authentication', () => {
  async function expect401(token: string | undefined, code = 'invalid_token') {
    const response = await get('/api/token/speech', token);
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(response.json).toMatchObject({ status: 401, code, correlationId: expect.any(String) });
    expect(h.cognitive.stsCalls()).toBe(0);
    return response;
  }

  it('401 without a token, with a bare Bearer challenge', async () => {
    const response = await expect401(undefined, 'missing_token');
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('401 invalid_token for a malformed header or garbage', async () => {
    expect((await expect401('not-a-jwt')).headers['www-authenticate']).toContain('error="invalid_token"');
    const basic = await h.call('GET', '/api/token/speech', { authorization: 'Basic dXNlcjpwYXNz' });
    expect(basic.status).toBe(401);
  });

  it.each([
    [
      'forged with an unpublished key',
      (hh: Harness) => hh.entra.mintWithUnpublishedKey({ aud: AUDIENCE, roles: ['Speech.Token'] }),
      'signed by a key the tenant does not publish',
    ],
    [
      'alg none',
      (hh: Harness) => hh.entra.mintUnsigned({ aud: AUDIENCE, roles: ['Speech.Token'] }),
      'algorithm not allowed',
    ],
    [
      'HS256 keyed with the public key',
      (hh: Harness) => hh.entra.mintHs256WithPublicKey({ aud: AUDIENCE, roles: ['Speech.Token'] }),
      'algorithm not allowed',
    ],
    [
      'a wrong issuer',
      (hh: Harness) => hh.callerToken({ iss: 'https://login.microsoftonline.com/other/v2.0' }),
      'claim "iss"',
    ],
    ['a wrong audience', (hh: Harness) => hh.callerToken({ aud: 'api://someone-else' }), 'claim "aud"'],
    [
      'another tenant',
      (hh: Harness) => hh.callerToken({ tid: '00000000-0000-0000-0000-000000000001' }),
      'claim "tid" is "00000000-0000-0000-0000-000000000001"',
    ],
    [
      'an expired token',
      (hh: Harness) => hh.callerToken({ exp: Math.floor(hh.clock.now / 1000) - 120 }),
      'token expired',
    ],
    [
      'a token not yet valid',
      (hh: Harness) => hh.callerToken({ nbf: Math.floor(hh.clock.now / 1000) + 600 }),
      'claim "nbf"',
    ],
    [
      'a tampered payload',
      async (hh: Harness) => hh.entra.tamper(await hh.callerToken({ roles: [] }), { roles: ['Speech.Token'] }),
      'signature verification failed',
    ],
    ['a token without tid', (hh: Harness) => hh.callerToken({ tid: undefined }), 'claim "tid"'],
    [
      'an ID token for the API (no azp, a nonce)',
      (hh: Harness) => hh.callerToken({ azp: undefined, azpacr: undefined, nonce: 'n-0S6_WzA2Mj', scp: undefined }),
      'not an access token: neither azp (v2.0) nor appid (v1.0), and a nonce: an ID token',
    ],
    [
      'a v1.0 ID token (no appid)',
      (hh: Harness) =>
        hh.callerToken({ iss: `https://sts.windows.net/${TENANT_ID}/`, ver: '1.0', azp: undefined, nonce: 'n-1' }),
      'not an access token',
    ],
    [
      'an access token without a client application',
      (hh: Harness) => hh.callerToken({ azp: undefined }),
      'not an access token: neither azp (v2.0) nor appid (v1.0)',
    ],
  ])('401 for %s, with the reason in the log only', async (_, mint, reason) => {
    const response = await expect401(await mint(h));
    expect(response.body).not.toContain(reason);
    expect(h.logText()).toContain(reason);
  });

  it("an ID token whose aud is the API's client ID is not a credential; the access token is", async () => {
    const apiClientId = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
    h.rebuild({ AUTH_AUDIENCES: `${AUDIENCE},${apiClientId}` });
    // One app registration for SPA and API: its ID token names the API as audience and carries
    // the user's app roles, but no client application.
    const idToken = await h.callerToken({ aud: apiClientId, azp: undefined, azpacr: undefined, nonce: 'n-0S6_WzA2Mj' });
    const refused = await expect401(idToken);
    // The caller is told what it sent (issue 20: the developer debugging the app needs it), never
    // a configured value.
    expect(JSON.parse(refused.body)).toMatchObject({ detail: expect.stringMatching(/^This is an ID token/) });
    expect(refused.body).not.toContain(apiClientId);
    expect(h.logText()).toContain('not an access token');
    expect((await get('/api/token/speech', await h.callerToken({ aud: apiClientId }))).status).toBe(200);
  });

  it('a signature has one spelling: the 15 others that decode to the same bytes are refused', async () => {
    const token = await h.callerToken();
    expect((await get('/api/token/speech', token)).status).toBe(200);
    const [header = '', payload = '', signature = ''] = token.split('.');
    const bytes = Buffer.from(signature, 'base64url');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respellings = Array.from(alphabet)
      .map((last) => signature.slice(0, -1) + last)
      .filter((other) => other !== signature && Buffer.from(other, 'base64url').equals(bytes));
    expect(respellings).toHaveLength(15); // 256 bytes in 342 characters: 4 unused bits at the end
    for (const other of [...respellings.map((r) => `${header}.${payload}.${r}`), `${token}=`]) {
      expect((await get('/api/token/speech', other)).json).toMatchObject({ status: 401, code: 'invalid_token' });
    }
    expect(h.logText()).toContain('signature is not in canonical base64url');
    expect((await get('/api/token/speech', token)).status).toBe(200);
  });

  it('tolerates a small clock skew', async () => {
    const response = await get('/api/token/speech', await h.callerToken({ exp: Math.floor(h.clock.now / 1000) - 30 }));
    expect(response.status).toBe(200);
  });

  it('does not refetch the key set for every unknown kid', async () => {
    expect((await get('/api/token/speech', await h.callerToken())).status).toBe(200);
    const before = h.entra.requests.jwks;
    for (let i = 0; i < 50; i++) {
      const forged = await h.entra.mintWithUnpublishedKey({ aud: AUDIENCE, roles: ['Speech.Token'] });
      expect((await get('/api/token/speech', forged)).status).toBe(401);
    }
    expect(h.entra.requests.jwks - before).toBeLessThanOrEqual(1);
    expect(h.entra.requests.discovery).toBe(1);
  });

  it('503 with Retry-After when the identity provider cannot be reached', async () => {
    h.rebuild({ AUTH_AUTHORITY_HOST: 'http://127.0.0.1:1' });
    const response = await get('/api/token/speech', await h.callerToken());
    expect(response.status).toBe(503);
    expect(response.json).toMatchObject({ code: 'identity_provider_unavailable' });
    expect(response.headers['retry-after']).toBe('5');
  });

  it('asks a failing identity provider once while the failure is held, not once per request', async () => {
    h.entra.failEndpoint('discovery', { status: 503 });
    const token = await h.callerToken();
    h.entra.resetCounters();
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await get('/api/token/speech', token)).status);
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 503));
    expect(h.entra.requests.discovery).toBe(1);
    // Once the hold is over, the next request asks again.
    h.clock.now += 5_001;
    h.entra.recoverEndpoint('discovery');
    expect((await get('/api/token/speech', token)).status).toBe(200);
    expect(h.entra.requests.discovery).toBe(2);
  });
});

describe('authorization', () => {
  it('403 for a caller without the role, naming what is needed', async () => {
    const response = await get('/api/token/speech', await h.callerToken({ roles: ['Other'] }));
    expect(response.status).toBe(403);
    expect(response.json).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('app role Speech.Token'),
    });
    expect(h.vault.requests.get).toBe(0);
  });

  it('404 for an unknown resource', async () => {
    const response = await get('/api/token/vision', await h.callerToken());
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ code: 'resource_not_found' });
  });

  it('authenticates before saying whether a resource exists', async () => {
    expect((await get('/api/token/vision')).status).toBe(401);
  });

  it('404 resource_not_found for a name that breaks the name rule, before authentication, neither echoed nor logged', async () => {
    const cases = [
      ['a right-to-left override', '%E2%80%AEspeech', '\u202e'],
      ['CR/LF and a forged log line', 'speech%0D%0A%7B%22level%22%3A%22error%22%7D', '"level":"error"}'],
      ['a NUL', 'speech%00', '\u0000'],
      ['64 characters', 'x'.repeat(64), 'x'.repeat(64)],
      ['10 000 characters', 's'.repeat(10_000), 's'.repeat(100)],
      ['a space', 'speech%20', 'speech '],
      ['a dot', 'speech.', 'speech.'],
    ] as const;
    const token = await h.callerToken();
    for (const [what, segment, raw] of cases) {
      for (const authorization of [undefined, token]) {
        const response = await get(`/api/token/${segment}`, authorization);
        expect(response.json, what).toMatchObject({ status: 404, code: 'resource_not_found' });
        expect(response.body, what).not.toContain(raw);
        expect(JSON.stringify(response.json), what).not.toContain(raw);
      }
      expect(h.logs.map((line) => line.text).join('\n'), what).not.toContain(raw);
      expect(h.logText(), what).not.toContain(raw);
    }
    expect(h.logs).toHaveLength(cases.length * 2);
    for (const line of h.logs) expect(JSON.parse(line.text)).not.toHaveProperty('resource');
    expect(h.logText()).toContain('is not a resource name; not logged');
  });

  it('matches names case-insensitively in ASCII only, and logs the canonical name', async () => {
    h.rebuild({
      TOKEN_RESOURCES: JSON.stringify([
        ...RESOURCES,
        { name: 'Speech-KR', kind: 'speech', region: 'koreacentral', secretName: 'speech-key', allowedRoles: ['X'] },
      ]),
    });
    const token = await h.callerToken();
    // The Kelvin sign lower-cases to "k" in Unicode; it is not a letter of a resource name.
    expect((await get('/api/token/speech-%E2%84%AAr', token)).status).toBe(404);
    const upper = await get('/api/token/SPEECH-kr', token);
    expect(upper.json).toMatchObject({ status: 403, code: 'forbidden' });
    expect(JSON.parse(h.logs.at(-1)?.text ?? '{}')).toMatchObject({ resource: 'speech-kr', code: 'forbidden' });
    const unknown = await get('/api/token/Vision', token);
    expect(unknown.json).toMatchObject({ status: 404, detail: expect.stringContaining('"vision"') });
  });
});

describe('rate limit', () => {
  it('429 with Retry-After once a caller exceeds its per-minute allowance', async () => {
    h.rebuild({ RATE_LIMIT_PER_MINUTE: '2' });
    const token = await h.callerToken();
    expect((await get('/api/token/speech', token)).status).toBe(200);
    expect((await get('/api/token/speech', token)).status).toBe(200);
    const limited = await get('/api/token/speech', token);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('30');
    // A cross-origin browser may not read Retry-After; the body says it too.
    expect(limited.json).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 30 });
    expect((await get('/api/token/speech', await h.callerToken({ oid: 'another-caller' }))).status).toBe(200);
  });
});

describe('upstream failures', () => {
  async function expectProblem(resource: string, status: number, code: string) {
    const response = await get(`/api/token/${resource}`, await h.callerToken());
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status, code });
    const body = response.json as { detail: string };
    expect(body.detail).not.toMatch(/vault|speech-key|127\.0\.0\.1/i);
    return response;
  }

  it('STS 401: key_rejected after reading the secret again once', async () => {
    h.cognitive.setKeys([]);
    await expectProblem('speech', 502, 'key_rejected');
    expect(h.vault.requests.get).toBe(2);
    expect(h.cognitive.stsCalls()).toBe(1);
    const log = h.logText();
    expect(log).toContain('Access denied due to invalid subscription key');
    expect(log).toContain('doctor -- --locate');
  });

  it('understands the older 401 body too', async () => {
    await h.close();
    h = await startHarness();
    h.cognitive.setKeys([]);
    h.cognitive.legacy401Body = true;
    await expectProblem('speech', 502, 'key_rejected');
    expect(h.logText()).toContain('Access denied due to invalid subscription key');
  });

  it('a rotated key is picked up: STS 401 → the new secret version → 200', async () => {
    const token = await h.callerToken({ exp: Math.floor(h.clock.now / 1000) + 7200 });
    expect((await get('/api/token/speech', token)).status).toBe(200);
    // the operator regenerates the key and stores the new one
    h.cognitive.setKeys([{ key: KEYS.speechRotated, cloud: 'AzureCloud', region: 'japanwest' }]);
    h.vault.setSecret('speech-key', KEYS.speechRotated);
    h.clock.now += 11 * 60_000;
    expect((await get('/api/token/speech', token)).status).toBe(200);
    expect(h.cognitive.calls.map((c) => `${c.status} …${c.keyLast4}`)).toEqual([
      `200 …${KEYS.speech.slice(-4)}`,
      `401 …${KEYS.speech.slice(-4)}`,
      `200 …${KEYS.speechRotated.slice(-4)}`,
    ]);
  });

  it('a subscription ID pasted as the key is never sent to the STS', async () => {
    h.vault.setSecret('speech-key', '2d9a6c1b-5f3e-4a7d-8b2c-9e0f1a2b3c4d');
    const response = await expectProblem('speech', 502, 'key_looks_like_subscription_id');
    expect(h.cognitive.stsCalls()).toBe(0);
    expect(response.body).not.toContain('2d9a6c1b');
    expect(h.logText()).not.toContain('2d9a6c1b-5f3e');
  });

  it('STS 429 is retried after its Retry-After, within the budget', async () => {
    h.cognitive.script('*', { status: 429, retryAfterSeconds: 2, times: 1 });
    const response = await get('/api/token/speech', await h.callerToken());
    expect(response.status).toBe(200);
    expect(h.cognitive.calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it('STS 429 with a Retry-After beyond the budget is reported, not waited for', async () => {
    h.cognitive.script('*', { status: 429, retryAfterSeconds: 60 });
    const response = await expectProblem('speech', 503, 'sts_throttled');
    expect(response.headers['retry-after']).toBe('60');
    expect(response.json).toMatchObject({ retryAfterSeconds: 60 });
    expect(h.cognitive.stsCalls()).toBe(1);
  });

  it('a secret holding two lines (both keys pasted) is never sent, and never quoted in the log', async () => {
    h.vault.setSecret('speech-key', `${KEYS.speech}\r\n${KEYS.speechRotated}`);
    const response = await expectProblem('speech', 502, 'key_malformed');
    expect(h.cognitive.stsCalls()).toBe(0);
    expect(h.logText()).toContain('it was not sent to the STS');
    expectNoKeys(h.logText() + response.body);
  });

  it("an STS Retry-After beyond reason is passed on as at most a minute, not 'Infinity'", async () => {
    h.cognitive.script('*', { status: 429, retryAfterSeconds: '9'.repeat(400) });
    const response = await expectProblem('speech', 503, 'sts_throttled');
    expect(response.headers['retry-after']).toBe('60');
    expect(response.json).toMatchObject({ retryAfterSeconds: 60 });
  });

  it('an STS answering 200 with a megabyte that is not a token: sts_invalid_response', async () => {
    h.cognitive.script('*', { status: 200, body: 'x'.repeat(1024 * 1024) });
    await expectProblem('speech', 502, 'sts_invalid_response');
  });

  it('STS 5xx is retried with backoff', async () => {
    h.cognitive.script('*', { status: 502, times: 2 });
    expect((await get('/api/token/speech', await h.callerToken())).status).toBe(200);
    expect(h.cognitive.calls.map((c) => c.status)).toEqual([502, 502, 200]);
  });

  it('STS 5xx that persists: 503 sts_unavailable after 3 attempts', async () => {
    h.cognitive.script('*', { status: 500 });
    await expectProblem('speech', 503, 'sts_unavailable');
    expect(h.cognitive.stsCalls()).toBe(3);
  });

  it('STS that never answers: 504 sts_timeout', async () => {
    await h.close();
    h = await startHarness({ dependencies: { stsAttemptTimeoutMs: 300 } });
    h.cognitive.script('*', { hang: true });
    await expectProblem('speech', 504, 'sts_timeout');
  });

  it('STS 403 with local auth disabled or network rules', async () => {
    h.cognitive.script('*', { status: 403, kind: 'localAuthDisabled' });
    await expectProblem('speech', 502, 'local_auth_disabled');
    await h.close();
    h = await startHarness();
    h.cognitive.script('*', { status: 403, kind: 'networkRestricted' });
    await expectProblem('speech', 502, 'network_restricted');
  });

  it('Key Vault: a missing secret is secret_not_found, named in the log only', async () => {
    h.vault.deleteSecret('speech-key');
    await expectProblem('speech', 502, 'secret_not_found');
    expect(h.logText()).toContain('secret "speech-key"');
  });

  it('Key Vault: an identity without a role on an RBAC vault is keyvault_role_missing, naming the role to grant', async () => {
    h.vault.accessMode = 'forbidden';
    await expectProblem('speech', 502, 'keyvault_role_missing');
    expect(h.logText()).toContain('Key Vault Secrets User');
  });

  it('Key Vault: server errors are keyvault_unavailable', async () => {
    h.vault.failNext(10, 500);
    await expectProblem('speech', 503, 'keyvault_unavailable');
  });

  it('Key Vault: an unreachable vault is keyvault_unreachable', async () => {
    h.rebuild({ KEY_VAULT_URI: 'https://127.0.0.1:1' });
    await expectProblem('speech', 503, 'keyvault_unreachable');
  });
});

describe('values from outside reach the log escaped and bounded', () => {
  const UNSAFE_IN_LOG = /[\p{Cc}\p{Cf}\u2028]/u;
  const requestLine = () => JSON.parse(h.logs.at(-1)?.text ?? '{}') as Record<string, unknown>;

  it("an STS error message: bidi override, CR/LF and a forged line, in the operator's diagnosis", async () => {
    const message = `\u202egnp.evil\r\n{"level":"error","event":"forged"}\u2028${'x'.repeat(5000)}`;
    h.cognitive.script('*', { status: 503, message });
    const response = await get('/api/token/speech', await h.callerToken());
    expect(response.json).toMatchObject({ status: 503, code: 'sts_unavailable' });
    expect(response.body).not.toContain('gnp.evil');
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]?.text).not.toMatch(UNSAFE_IN_LOG);
    const { diagnosis } = requestLine();
    // One line: the upstream's line breaks are folded away before the log's own escaping.
    expect(diagnosis).toContain('\\u{202e}gnp.evil {"level":"error","event":"forged"}\\u{2028}');
    expect((diagnosis as string).length).toBeLessThan(1100);
  });

  it('claims of a signed token (oid, roles) in the request line', async () => {
    const token = await h.callerToken({
      oid: '\u202eadmin',
      roles: ['Other\r\nRole', ...Array.from({ length: 100 }, (_, i) => `R${i}`)],
    });
    expect((await get('/api/token/speech', token)).status).toBe(403);
    expect(h.logs.at(-1)?.text).not.toMatch(UNSAFE_IN_LOG);
    const line = requestLine();
    expect(line.caller).toBe('\\u{202e}admin');
    expect(line.diagnosis).toContain('Other\\u{000d}\\u{000a}Role');
    expect((line.diagnosis as string).length).toBeLessThan(1100);
  });

  it("a forged token's header, which jose quotes in its refusal (an unknown crit parameter)", async () => {
    const name = `\u202eevil\r\n${'x'.repeat(3000)}`;
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = `${encode({ alg: 'RS256', kid: 'k', crit: [name], [name]: 1 })}.${encode({ aud: AUDIENCE })}.AAAA`;
    const response = await get('/api/token/speech', forged);
    expect(response.json).toMatchObject({ status: 401, code: 'invalid_token' });
    expect(h.logs.at(-1)?.text).not.toMatch(UNSAFE_IN_LOG);
    const { diagnosis } = requestLine();
    expect(diagnosis).toContain('\\u{202e}evil\\u{000d}\\u{000a}xxx');
    expect((diagnosis as string).length).toBeLessThan(1100);
  });

  it('a Key Vault refusal message, first line only, escaped', async () => {
    h.vault.accessMode = 'forbidden';
    await get('/api/token/speech', await h.callerToken());
    expect(h.logs.at(-1)?.text).not.toMatch(UNSAFE_IN_LOG);
    expect(requestLine().diagnosis).toContain('Caller is not authorized to perform action on resource.');
    expect(requestLine().diagnosis).not.toContain('Caller: appid=');
  });
});

describe('GET /api/resources and /api/health', () => {
  it('lists only what the caller may request, with nothing secret', async () => {
    const response = await get('/api/resources', await h.callerToken({ scp: undefined }));
    expect(response.status).toBe(200);
    const { resources } = response.json as { resources: { name: string }[] };
    expect(resources.map((r) => r.name)).toEqual(['speech', 'speech-cn', 'speech-gov', 'speech-custom']);
    expect(response.body).not.toMatch(/secretName|-key|vault/i);
    expect((await get('/api/resources')).status).toBe(401);
  });

  it('health answers anonymously and reveals nothing', async () => {
    const response = await get('/api/health');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: 'ok' });
  });

  it('an invalid configuration answers 503 configuration_invalid; health still answers', async () => {
    h.rebuild({ TOKEN_RESOURCES: '[{"name":"x"}]' });
    const response = await get('/api/token/speech', await h.callerToken());
    expect(response.status).toBe(503);
    expect(response.json).toMatchObject({ code: 'configuration_invalid' });
    expect(response.body).not.toContain('TOKEN_RESOURCES');
    expect((await get('/api/health')).json).toEqual({ status: 'ok' });
  });

  it("every log line carries the host's invocation id beside the caller's correlation id", async () => {
    const token = await h.callerToken();
    await get('/api/token/vision', token, { 'x-correlation-id': 'someone-elses-id' });
    await get('/api/token/nothing', token, { 'x-correlation-id': 'someone-elses-id' });
    await get('/api/token/vision', token);
    const lines = h.logs.map((line) => JSON.parse(line.text) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.invocationId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(new Set(lines.map((line) => line.invocationId)).size).toBe(3);
    expect(lines.map((line) => line.correlationId)).toEqual([
      'someone-elses-id',
      'someone-elses-id',
      lines[2]?.invocationId, // none sent: ours
    ]);
  });

  it('writes no log line for a request that succeeds: the metrics count those', async () => {
    const token = await h.callerToken();
    await get('/api/token/speech', token);
    h.logs.length = 0;
    for (let i = 0; i < 3; i++) expect((await get('/api/token/speech', token)).status).toBe(200);
    expect((await get('/api/resources', token)).status).toBe(200);
    expect((await get('/api/health')).status).toBe(200);
    expect(h.logs).toEqual([]);
  });

  it('echoes a sane caller correlation id and makes one otherwise', async () => {
    const response = await get('/api/token/vision', await h.callerToken(), { 'x-correlation-id': 'abc-123' });
    expect(response.headers['x-correlation-id']).toBe('abc-123');
    expect(response.json).toMatchObject({ correlationId: 'abc-123' });
    const odd = await get('/api/health', undefined, { 'x-correlation-id': '<script>' });
    expect(odd.headers['x-correlation-id']).not.toBe('<script>');
  });
});
