import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeCognitive, type FakeCognitive, type FakeKey } from '../../devstack/fakes/cognitive.js';

const KEYS = {
  japanwest: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  china: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  gov: '11223344556677889900aabbccddeeff',
  custom: 'Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nOp3rSt6vWx9zAb2dEf5hIj8lMn1pQr4tUv7xYz0bCd3f',
  private: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  loopback: 'c0ffee00c0ffee00c0ffee00c0ffee00',
};
const FAKE_KEYS: FakeKey[] = [
  { key: KEYS.japanwest, cloud: 'AzureCloud', region: 'japanwest' },
  { key: KEYS.china, cloud: 'AzureChinaCloud', region: 'chinaeast2' },
  { key: KEYS.gov, cloud: 'AzureUSGovernment', region: 'usgovvirginia' },
  { key: KEYS.custom, cloud: 'AzureCloud', region: 'westeurope', subdomain: 'contoso-speech' },
  { key: KEYS.private, cloud: 'AzureCloud', region: 'westeurope', subdomain: 'contoso-private', privateEndpoint: true },
  { key: KEYS.loopback, cloud: 'AzureCloud', subdomain: 'loopback' },
];

const clock = { now: Date.UTC(2030, 0, 1, 12) };
let cognitive: FakeCognitive;

beforeAll(async () => {
  cognitive = await startFakeCognitive({ keys: FAKE_KEYS, now: () => clock.now });
});
afterAll(async () => {
  await cognitive.close();
});
beforeEach(() => {
  cognitive.resetCalls();
  cognitive.setKeys(FAKE_KEYS);
  cognitive.legacy401Body = false;
  cognitive.rejectTokens = false;
});

const issueToken = (base: string, key?: string, init: RequestInit = {}) =>
  cognitive.fetch(`${base}/sts/v1.0/issueToken`, {
    method: 'POST',
    headers: key === undefined ? {} : { 'Ocp-Apim-Subscription-Key': key },
    ...init,
  });

const voices = (base: string, token: string) =>
  cognitive.fetch(`${base}/cognitiveservices/voices/list`, { headers: { Authorization: `Bearer ${token}` } });

function claimsOf(token: string): Record<string, unknown> {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function connectionError(promise: Promise<unknown>): Promise<{ message: string; cause: { code?: string } }> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TypeError);
  return error as { message: string; cause: { code?: string } };
}

describe('fake STS issueToken', () => {
  it('issues a 10-minute token to a public-cloud regional key at its own region', async () => {
    const response = await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const token = await response.text();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(claimsOf(token)).toMatchObject({
      region: 'japanwest',
      aud: 'urn:ms.cognitiveservices',
      iss: 'urn:ms.cognitiveservices',
      exp: clock.now / 1000 + 600,
      'subscription-id': expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(cognitive.calls).toEqual([
      { host: 'japanwest.api.cognitive.microsoft.com', path: '/sts/v1.0/issueToken', status: 200, keyLast4: '8f90' },
    ]);
  });

  it('serves Azure China and US Government at their own hosts', async () => {
    expect((await issueToken('https://chinaeast2.api.cognitive.azure.cn', KEYS.china)).status).toBe(200);
    expect((await issueToken('https://usgovvirginia.api.cognitive.microsoft.us', KEYS.gov)).status).toBe(200);
    expect(cognitive.stsCalls('chinaeast2.api.cognitive.azure.cn')).toBe(1);
  });

  it('accepts a custom-subdomain key at its subdomain and at its region', async () => {
    expect((await issueToken('https://contoso-speech.cognitiveservices.azure.com', KEYS.custom)).status).toBe(200);
    expect((await issueToken('https://westeurope.api.cognitive.microsoft.com', KEYS.custom)).status).toBe(200);
  });

  it.each([
    ['another region', 'https://japaneast.api.cognitive.microsoft.com', KEYS.japanwest],
    ['another cloud', 'https://chinaeast2.api.cognitive.azure.cn', KEYS.japanwest],
    ['a China key at the public endpoint', 'https://chinaeast2.api.cognitive.microsoft.com', KEYS.china],
    ['its own region in another cloud', 'https://westeurope.api.cognitive.microsoft.us', KEYS.custom],
    ['a regional key at a custom subdomain', 'https://contoso-speech.cognitiveservices.azure.com', KEYS.japanwest],
    [
      'an Azure subscription id instead of a key',
      'https://japanwest.api.cognitive.microsoft.com',
      '2d9a6c1b-5f3e-4a7d-8b2c-9e0f1a2b3c4d',
    ],
    ['no key', 'https://japanwest.api.cognitive.microsoft.com', undefined],
  ])('answers 401 for %s', async (_name, base, key) => {
    const response = await issueToken(base, key);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: {
        code: '401',
        message: expect.stringContaining('Access denied due to invalid subscription key or wrong API endpoint.'),
      },
    });
  });

  it('can answer 401 with the older body', async () => {
    cognitive.legacy401Body = true;
    const response = await issueToken('https://japaneast.api.cognitive.microsoft.com', KEYS.japanwest);
    expect(await response.json()).toEqual({
      statusCode: 401,
      message:
        'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.',
    });
  });

  it('stops accepting a regenerated key', async () => {
    cognitive.setKeys([{ key: 'f0e1d2c3b4a5968778695a4b3c2d1e0f', cloud: 'AzureCloud', region: 'japanwest' }]);
    expect((await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest)).status).toBe(401);
    expect(
      (await issueToken('https://japanwest.api.cognitive.microsoft.com', 'f0e1d2c3b4a5968778695a4b3c2d1e0f')).status,
    ).toBe(200);
    // The resource's name still resolves after its keys change.
    expect((await issueToken('https://contoso-speech.cognitiveservices.azure.com', KEYS.custom)).status).toBe(401);
  });

  it('is the custom subdomain `loopback` when addressed at its own URL', async () => {
    const response = await fetch(`${cognitive.url}/sts/v1.0/issueToken`, {
      method: 'POST',
      headers: { 'Ocp-Apim-Subscription-Key': KEYS.loopback },
    });
    expect(response.status).toBe(200);
    expect((await issueToken(cognitive.url, KEYS.loopback)).status).toBe(200);
    expect((await issueToken(cognitive.url, KEYS.japanwest)).status).toBe(401);
    expect(cognitive.stsCalls('loopback')).toBe(3);
  });

  it('never records a whole key', async () => {
    await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.custom);
    expect(JSON.stringify(cognitive.calls)).not.toContain(KEYS.custom);
    expect(cognitive.calls[0]?.keyLast4).toBe('Cd3f');
  });
});

describe('fake STS: hosts that do not exist', () => {
  it.each([
    ['a host that is not an Azure AI host', 'https://example.com'],
    ['a custom subdomain nobody created', 'https://contoso-typo.cognitiveservices.azure.com'],
    ['a custom subdomain in the wrong cloud', 'https://contoso-speech.cognitiveservices.azure.cn'],
  ])('fails like DNS for %s', async (_name, base) => {
    const error = await connectionError(issueToken(base, KEYS.custom));
    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('ENOTFOUND');
    expect(cognitive.calls).toEqual([]);
  });

  it('refuses plain http to an Azure AI host', async () => {
    const error = await connectionError(issueToken('http://japanwest.api.cognitive.microsoft.com', KEYS.japanwest));
    expect(error.cause.code).toBe('ECONNREFUSED');
  });
});

describe('fake STS: scripted failures', () => {
  it('429 with Retry-After for the given number of requests, then normal again', async () => {
    cognitive.script('japanwest.api.cognitive.microsoft.com', { status: 429, retryAfterSeconds: 3, times: 1 });
    const throttled = await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect((await issueToken('https://japaneast.api.cognitive.microsoft.com', KEYS.japanwest)).status).toBe(401);
    expect((await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest)).status).toBe(200);
  });

  it.each([
    [
      '403 local auth disabled',
      { status: 403, kind: 'localAuthDisabled', times: 1 } as const,
      'AuthenticationTypeDisabled',
    ],
    ['403 network rules', { status: 403, kind: 'networkRestricted', times: 1 } as const, '403'],
    ['503', { status: 503, times: 1 } as const, '503'],
  ])('%s for every host, once', async (_name, behaviour, code) => {
    cognitive.script('*', behaviour);
    const response = await issueToken('https://chinaeast2.api.cognitive.azure.cn', KEYS.china);
    expect(response.status).toBe(behaviour.status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    expect((await issueToken('https://chinaeast2.api.cognitive.azure.cn', KEYS.china)).status).toBe(200);
  });

  it('hangs until the client gives up; close() still closes', async () => {
    const hanging = await startFakeCognitive({ keys: FAKE_KEYS });
    hanging.script('*', { hang: true });
    await expect(
      hanging.fetch('https://japanwest.api.cognitive.microsoft.com/sts/v1.0/issueToken', {
        method: 'POST',
        headers: { 'Ocp-Apim-Subscription-Key': KEYS.japanwest },
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    const pending = hanging.fetch(`${hanging.url}/sts/v1.0/issueToken`, { method: 'POST' }).catch((e: unknown) => e);
    // Closed once the request hangs there, however long a busy machine takes to send it.
    await vi.waitFor(() => expect(hanging.calls).toHaveLength(2));
    await hanging.close();
    expect(await pending).toBeInstanceOf(TypeError);
    expect(hanging.calls.map((c) => c.status)).toEqual([0, 0]);
  });
});

describe('fake STS: slow bodies and layered scripts', () => {
  it('drips: 200 and its headers at once, then a byte per interval until the client goes away', async () => {
    cognitive.script('japanwest.api.cognitive.microsoft.com', { drip: { intervalMs: 20 }, times: 1 });
    const answer = await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest);
    expect(answer.status).toBe(200);
    if (answer.body === null) throw new Error('no body');
    const reader: ReadableStreamDefaultReader<Uint8Array> = answer.body.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^e+$/);
    expect(cognitive.openDrips()).toBe(1);
    await reader.cancel();
    await vi.waitFor(() => expect(cognitive.openDrips()).toBe(0), { timeout: 5000, interval: 10 });
  });

  it('stops dripping after maxBytes, unfinished', async () => {
    cognitive.script('japanwest.api.cognitive.microsoft.com', { drip: { intervalMs: 1, maxBytes: 5 }, times: 1 });
    const answer = await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest);
    await expect(answer.text()).rejects.toThrow();
    await vi.waitFor(() => expect(cognitive.openDrips()).toBe(0), { timeout: 5000, interval: 10 });
  });

  it("a host's script first, then once it has run out the one for every host, then the normal answer", async () => {
    cognitive.script('japanwest.api.cognitive.microsoft.com', { status: 503, times: 1 });
    cognitive.script('*', { status: 500, times: 1 });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await issueToken('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest)).status);
    expect(statuses).toEqual([503, 500, 200]);
  });
});

describe('fake Speech voices list', () => {
  async function tokenFor(base: string, key: string): Promise<string> {
    const response = await issueToken(base, key);
    expect(response.status).toBe(200);
    return response.text();
  }

  it('lists voices for a fresh token of the same region, in each cloud', async () => {
    const token = await tokenFor('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest);
    const response = await voices('https://japanwest.tts.speech.microsoft.com', token);
    expect(response.status).toBe(200);
    expect(await response.json()).toContainEqual(
      expect.objectContaining({ ShortName: 'ja-JP-NanamiNeural', Locale: 'ja-JP' }),
    );
    const china = await tokenFor('https://chinaeast2.api.cognitive.azure.cn', KEYS.china);
    expect((await voices('https://chinaeast2.tts.speech.azure.cn', china)).status).toBe(200);
  });

  it('a custom subdomain without a private endpoint serves the STS, 404s Speech paths, and its token works at its region', async () => {
    const token = await tokenFor('https://contoso-speech.cognitiveservices.azure.com', KEYS.custom);
    const atSubdomain = await cognitive.fetch(
      'https://contoso-speech.cognitiveservices.azure.com/tts/cognitiveservices/voices/list',
      { headers: { Authorization: `Bearer ${token}` } },
    );
    expect(atSubdomain.status).toBe(404);
    expect(await atSubdomain.text()).toBe('{"error":{"code":"404","message":"Resource not found"}}');
    expect((await voices('https://westeurope.tts.speech.microsoft.com', token)).status).toBe(200);
  });

  it('a custom subdomain behind a private endpoint serves the Speech paths too', async () => {
    const token = await tokenFor('https://contoso-private.cognitiveservices.azure.com', KEYS.private);
    const atSubdomain = await cognitive.fetch(
      'https://contoso-private.cognitiveservices.azure.com/tts/cognitiveservices/voices/list',
      { headers: { Authorization: `Bearer ${token}` } },
    );
    expect(atSubdomain.status).toBe(200);
  });

  it('answers any scripted status and body word for word, per host', async () => {
    const quota = '{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 2.03:04:05."}';
    cognitive.script('westeurope.api.cognitive.microsoft.com', { status: 403, body: quota, times: 1 });
    const refused = await issueToken('https://westeurope.api.cognitive.microsoft.com', KEYS.custom);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe(quota);
    expect((await issueToken('https://westeurope.api.cognitive.microsoft.com', KEYS.custom)).status).toBe(200);
  });

  it('answers 401 for another region, an expired token, a token it never issued, or when told to', async () => {
    const token = await tokenFor('https://japanwest.api.cognitive.microsoft.com', KEYS.japanwest);
    expect((await voices('https://japaneast.tts.speech.microsoft.com', token)).status).toBe(401);
    expect((await voices('https://japanwest.tts.speech.microsoft.com', `${token}x`)).status).toBe(401);
    cognitive.rejectTokens = true;
    expect((await voices('https://japanwest.tts.speech.microsoft.com', token)).status).toBe(401);
    cognitive.rejectTokens = false;
    clock.now += 601_000;
    try {
      expect((await voices('https://japanwest.tts.speech.microsoft.com', token)).status).toBe(401);
    } finally {
      clock.now -= 601_000;
    }
  });
});
