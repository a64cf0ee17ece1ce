import { ManagedIdentityCredential } from '@azure/identity';
import { RTCPeerConnection } from 'werift';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeAzureOpenAI, type FakeAzureOpenAI } from '../../devstack/fakes/azureOpenAI.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const CLIENT_ID = '7c2e4a6b-8d0f-4a1b-9c3d-5e7f9a1b3c5d';
const PUBLIC_AUDIENCE = 'https://cognitiveservices.azure.com';
const GOV_AUDIENCE = 'https://cognitiveservices.azure.us';
const KEYS = {
  contoso: [
    'Kq3Lw9Zr2Xv7Nb4Mt8Pc1Hd6Fg5Js0Ay3Ew7Ru2Io9Ul4Ok8Ij1Uh6Yg5Tf0Rd3Es7Wa2Qz9Xs4Cv8Bn1Mk6Lj5Hg0Fd3Sa7Pq2Ow9Ie4Ru',
    'Zx1Cv2Bn3Mq4Wr5Ty6Ui7Op8As9Df0Gh1Jk2Lz3Xc4Vb5Nm6Qw7Er8Ty9Ui0Op1As2Df3Gh4Jk5Lz6Xc7Vb8Nm9Qw0Er1Ty2Ui3Op4As5Df',
  ],
  keyless: ['a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5', 'f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0'],
} as const;

const clock = { now: Date.UTC(2031, 2, 3, 9) };
const identity = useFileManagedIdentity({ clientId: CLIENT_ID });
let openai: FakeAzureOpenAI;

beforeAll(async () => {
  openai = await startFakeAzureOpenAI({
    accounts: [
      { name: 'contoso-aoai', deployments: { 'gpt-realtime': 'gpt-realtime', chat: 'gpt-4o' }, keys: KEYS.contoso },
      {
        name: 'keyless-aoai',
        deployments: { voice: 'gpt-realtime-mini' },
        keys: KEYS.keyless,
        localAuthDisabled: true,
      },
      { name: 'gov-aoai', cloud: 'AzureUSGovernment', deployments: { 'gpt-realtime': 'gpt-realtime' } },
    ],
    now: () => clock.now,
    // The data plane takes the tokens the managed-identity fake issued for its audience, as Azure takes Entra's.
    acceptToken: (token, audience) => identity().tokensFor(audience).includes(token),
  });
});
afterAll(async () => {
  await openai.close();
});
beforeEach(async () => {
  await openai.reset();
  openai.setIdentityRole('contoso-aoai', true);
  openai.setLocalAuthDisabled('contoso-aoai', false);
});

const credential = () => new ManagedIdentityCredential({ clientId: CLIENT_ID, retryOptions: { maxRetries: 0 } });
const entraToken = async (audience = PUBLIC_AUDIENCE) => (await credential().getToken(`${audience}/.default`)).token;

const SESSION = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'You are the front desk of Contoso.',
  audio: { output: { voice: 'marin' } },
};

function mint(
  base: string,
  auth: { bearer?: string; apiKey?: string },
  body: unknown = { session: SESSION },
  init: RequestInit = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (auth.bearer !== undefined) headers.Authorization = `Bearer ${auth.bearer}`;
  if (auth.apiKey !== undefined) headers['api-key'] = auth.apiKey;
  return openai.fetch(`${base}/openai/v1/realtime/client_secrets`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

const CONTOSO = 'https://contoso-aoai.openai.azure.com';

interface MintAnswer {
  value: string;
  expires_at: number;
  session: Record<string, unknown> & { model: string; audio: { output: { voice: string } } };
}

async function mintedKey(base = CONTOSO, session: Record<string, unknown> = SESSION): Promise<MintAnswer> {
  const answer = await mint(base, { bearer: await entraToken() }, { session });
  expect(answer.status).toBe(200);
  return (await answer.json()) as MintAnswer;
}

describe('client_secrets: who may mint', () => {
  it.each([
    'https://contoso-aoai.openai.azure.com',
    'https://contoso-aoai.services.ai.azure.com',
    'https://contoso-aoai.cognitiveservices.azure.com',
  ])('mints a one-minute key at %s with the identity token for the cognitiveservices audience', async (base) => {
    const token = await entraToken();
    const answer = await mint(base, { bearer: token });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    const body = (await answer.json()) as MintAnswer;
    expect(body.value).toMatch(/^ek_[0-9a-f]{32}$/);
    expect(body.expires_at).toBe(clock.now / 1000 + 60);
    expect(body.session).toMatchObject({
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: SESSION.instructions,
      audio: { output: { voice: 'marin' } },
    });
    expect(openai.mints).toEqual([
      {
        account: 'contoso-aoai',
        host: new URL(base).hostname,
        auth: 'entra',
        body: { session: SESSION },
        query: '',
        status: 200,
        value: body.value,
      },
    ]);
    expect(identity().requests.at(-1)).toEqual({ resource: PUBLIC_AUDIENCE, clientId: CLIENT_ID });
  });

  it('gives every mint its own key', async () => {
    const [first, second] = await Promise.all([mintedKey(), mintedKey()]);
    expect(first.value).not.toBe(second.value);
  });

  it('answers at its own URL as the loopback account (the first unless named)', async () => {
    const answer = await mint(openai.url, { apiKey: KEYS.contoso[1] });
    expect(answer.status).toBe(200);
    expect(openai.mints[0]).toMatchObject({
      account: 'contoso-aoai',
      host: 'loopback',
      auth: 'api-key',
      keyLast4: KEYS.contoso[1].slice(-4),
    });
  });

  it('refuses a missing token, a token for another audience and a made-up one with 401, naming the audience', async () => {
    const vaultToken = (await credential().getToken('https://vault.azure.net/.default')).token;
    for (const bearer of [undefined, vaultToken, 'fake-mi-made-up']) {
      const answer = await mint(CONTOSO, bearer === undefined ? {} : { bearer });
      expect(answer.status).toBe(401);
      expect(await answer.json()).toEqual({
        statusCode: 401,
        message:
          'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
      });
    }
    expect(openai.mints.map((m) => [m.auth, m.status])).toEqual([
      ['none', 401],
      ['entra', 401],
      ['entra', 401],
    ]);
  });

  it('wants the .us audience in US Government: a public-cloud token is refused there', async () => {
    const base = 'https://gov-aoai.openai.azure.us';
    const refused = await mint(base, { bearer: await entraToken(PUBLIC_AUDIENCE) });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('audience is incorrect (https://cognitiveservices.azure.us)');
    expect((await mint(base, { bearer: await entraToken(GOV_AUDIENCE) })).status).toBe(200);
    expect(
      (await mint('https://gov-aoai.cognitiveservices.azure.us', { bearer: await entraToken(GOV_AUDIENCE) })).status,
    ).toBe(200);
  });

  it('refuses an identity without "Cognitive Services OpenAI User" with 401 PermissionDenied, as Azure does', async () => {
    openai.setIdentityRole('contoso-aoai', false);
    const answer = await mint(CONTOSO, { bearer: await entraToken() });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toEqual({
      error: { code: 'PermissionDenied', message: 'Principal does not have access to API/Operation.' },
    });
    openai.setIdentityRole('contoso-aoai', true);
    expect((await mint(CONTOSO, { bearer: await entraToken() })).status).toBe(200);
  });

  it("takes either of the account's keys in api-key, and refuses another account's with 401", async () => {
    for (const apiKey of KEYS.contoso) expect((await mint(CONTOSO, { apiKey })).status).toBe(200);
    const wrong = await mint(CONTOSO, { apiKey: KEYS.keyless[0] });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: {
        code: '401',
        message:
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      },
    });
    expect(openai.mints.map((m) => [m.auth, m.keyLast4, m.status])).toEqual([
      ['api-key', KEYS.contoso[0].slice(-4), 200],
      ['api-key', KEYS.contoso[1].slice(-4), 200],
      ['api-key', KEYS.keyless[0].slice(-4), 401],
    ]);
    expect(JSON.stringify(openai.mints)).not.toContain(KEYS.contoso[0]);
  });

  it('refuses every key with 403 when local auth is disabled, and still takes the identity', async () => {
    const refused = await mint(
      'https://keyless-aoai.openai.azure.com',
      { apiKey: KEYS.keyless[0] },
      { session: { type: 'realtime', model: 'voice' } },
    );
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: { code: 'AuthenticationTypeDisabled', message: 'Key based authentication is disabled for this resource.' },
    });
    openai.setLocalAuthDisabled('contoso-aoai', true);
    expect((await mint(CONTOSO, { apiKey: KEYS.contoso[0] })).status).toBe(403);
    expect((await mint(CONTOSO, { bearer: await entraToken() })).status).toBe(200);
  });

  it('answers an api-version on the v1 surface with 401, whatever the credential', async () => {
    const token = await entraToken();
    for (const query of ['api-version=2025-08-28', 'api-version=2025-04-01-preview']) {
      const answer = await openai.fetch(`${CONTOSO}/openai/v1/realtime/client_secrets?${query}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ session: SESSION }),
      });
      expect(answer.status).toBe(401);
    }
    expect(openai.mints.map((m) => [m.query, m.status])).toEqual([
      ['api-version=2025-08-28', 401],
      ['api-version=2025-04-01-preview', 401],
    ]);
  });
});

describe('client_secrets: the body', () => {
  const refusal = async (body: unknown) => {
    const answer = await mint(CONTOSO, { bearer: await entraToken() }, body);
    return { status: answer.status, body: (await answer.json()) as { error: Record<string, unknown> } };
  };

  it('wants session.type "realtime"', async () => {
    for (const type of [undefined, 'transcription', 'Realtime']) {
      const { status, body } = await refusal({ session: { ...SESSION, type } });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'session.type', code: 'invalid_value' });
    }
  });

  it('wants session.model, naming a deployment: 404 DeploymentNotFound for any other name', async () => {
    const missing = await refusal({ session: { type: 'realtime' } });
    expect(missing).toMatchObject({
      status: 400,
      body: { error: { param: 'session.model', code: 'missing_required_parameter' } },
    });
    // The model's own name is not a deployment, nor is another account's deployment.
    for (const model of ['gpt-4o-realtime-preview', 'voice', 'GPT-REALTIME']) {
      const { status, body } = await refusal({ session: { ...SESSION, model } });
      expect(status).toBe(404);
      expect(body.error.code).toBe('DeploymentNotFound');
    }
  });

  it('refuses a deployment of a model that is not a realtime model with 400 OpperationNotSupported (sic)', async () => {
    const { status, body } = await refusal({ session: { ...SESSION, model: 'chat' } });
    expect(status).toBe(400);
    expect(body.error.code).toBe('OpperationNotSupported');
    expect(body.error.message).toContain('The realtime operation does not work with the specified model, gpt-4o.');
  });

  it('wants a JSON object with a session object', async () => {
    for (const body of ['not json', '[]', {}, { session: 'realtime' }]) {
      expect((await refusal(body)).status).toBe(400);
    }
    expect(openai.mints.map((m) => m.body)).toEqual(['not json', [], {}, { session: 'realtime' }]);
  });

  it('answers the session it was given over the defaults, with the deployment as model', async () => {
    const { session } = await mintedKey(CONTOSO, { type: 'realtime', model: 'gpt-realtime' });
    expect(session).toMatchObject({
      type: 'realtime',
      object: 'realtime.session',
      model: 'gpt-realtime',
      audio: { output: { voice: 'alloy' } },
    });
    expect(session.id).toMatch(/^sess_/);
  });
});

describe('client_secrets: faults', () => {
  it('throttles with 429 and Retry-After (1 s unless told), then answers again', async () => {
    openai.failMints(2, { status: 429 });
    const token = await entraToken();
    const first = await mint(CONTOSO, { bearer: token });
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '1']);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('429');
    expect((await mint(CONTOSO, { bearer: token })).status).toBe(429);
    expect((await mint(CONTOSO, { bearer: token })).status).toBe(200);
    openai.failMints(1, { status: 429, retryAfterSeconds: 17 });
    expect((await mint(CONTOSO, { bearer: token })).headers.get('retry-after')).toBe('17');
  });

  it('fails with 5xx, a body that is not JSON, or any answer word for word', async () => {
    const token = await entraToken();
    for (const status of [500, 502, 503, 504] as const) {
      openai.failMints(1, { status });
      const answer = await mint(CONTOSO, { bearer: token });
      expect(answer.status).toBe(status);
      await answer.body?.cancel();
    }
    openai.failMints(1, { garbage: true });
    const garbage = await mint(CONTOSO, { bearer: token });
    expect(garbage.status).toBe(200);
    await expect(garbage.json()).rejects.toThrow(SyntaxError);
    openai.failMints(1, { status: 200, body: '{"value":42}', headers: { 'x-scripted': 'yes' } });
    const scripted = await mint(CONTOSO, { bearer: token });
    expect([scripted.status, await scripted.text(), scripted.headers.get('x-scripted')]).toEqual([
      200,
      '{"value":42}',
      'yes',
    ]);
  });

  it('scripted faults come after authentication: a refused caller is refused first', async () => {
    openai.failMints(1, { status: 503 });
    expect((await mint(CONTOSO, { bearer: 'fake-mi-made-up' })).status).toBe(401);
    expect((await mint(CONTOSO, { bearer: await entraToken() })).status).toBe(503);
  });

  it('hangs until the client gives up, which sees a TimeoutError as with fetch', async () => {
    openai.failMints(1, { hang: true });
    const token = await entraToken();
    await expect(
      mint(CONTOSO, { bearer: token }, { session: SESSION }, { signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(openai.mints.at(-1)?.status).toBe(0);
    expect((await mint(CONTOSO, { bearer: token })).status).toBe(200);
  });
});

describe('routing: the fetch stands in for DNS and the front door', () => {
  it('fails an account it does not hold, or a host of the wrong cloud, as DNS would', async () => {
    for (const base of [
      'https://fabrikam-aoai.openai.azure.com',
      'https://contoso-aoai.openai.azure.us',
      'https://gov-aoai.openai.azure.com',
    ]) {
      await expect(mint(base, {})).rejects.toMatchObject({ message: 'fetch failed', cause: { code: 'ENOTFOUND' } });
    }
  });

  it('refuses http and any port but 443', async () => {
    for (const base of ['http://contoso-aoai.openai.azure.com', 'https://contoso-aoai.openai.azure.com:8443']) {
      await expect(mint(base, {})).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    }
  });

  it("claims /openai/ paths at its accounts' hosts and its own URL; the STS at a cognitiveservices host is not its own", () => {
    expect(openai.handles(`${CONTOSO}/openai/v1/realtime/client_secrets`)).toBe(true);
    expect(openai.handles('https://contoso-aoai.cognitiveservices.azure.com/openai/v1/realtime/calls')).toBe(true);
    expect(openai.handles('https://contoso-aoai.cognitiveservices.azure.com/sts/v1.0/issueToken')).toBe(false);
    expect(openai.handles('https://fabrikam.openai.azure.com/openai/v1/realtime/calls')).toBe(false);
    expect(openai.handles(`${openai.url}/anything`)).toBe(true);
  });

  it('answers 404 at a path it does not serve', async () => {
    const answer = await openai.fetch(`${CONTOSO}/openai/realtimeapi/sessions?api-version=2025-04-01-preview`, {
      method: 'POST',
    });
    expect(answer.status).toBe(404);
    expect(openai.mints).toEqual([]);
  });
});

/** An SDP offer as a browser makes one: an audio track and the `oai-events` data channel. */
async function offer(): Promise<{ sdp: string; peer: RTCPeerConnection }> {
  const peer = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  });
  peer.addTransceiver('audio', { direction: 'sendrecv' });
  peer.createDataChannel('oai-events');
  await peer.setLocalDescription(await peer.createOffer());
  return { sdp: peer.localDescription?.sdp ?? '', peer };
}

function connect(
  base: string,
  key: string | undefined,
  sdp: string,
  headers: Record<string, string> = {},
  query = '?webrtcfilter=on',
) {
  return openai.fetch(`${base}/openai/v1/realtime/calls${query}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/sdp',
      ...(key === undefined ? {} : { Authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: sdp,
  });
}

describe('calls: which keys start a call', () => {
  const peers: RTCPeerConnection[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
  });
  const browserOffer = async () => {
    const made = await offer();
    peers.push(made.peer);
    return made.sdp;
  };

  it("answers a fresh key with 201, an SDP answer on 127.0.0.1 only, and the call's Location; the key then is spent", async () => {
    const { value } = await mintedKey();
    const sdp = await browserOffer();
    const answer = await connect(CONTOSO, value, sdp);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('content-type')).toBe('application/sdp');
    const text = await answer.text();
    expect(text).toMatch(/^v=0\r\n/);
    const candidates = text.split('\r\n').filter((line) => line.startsWith('a=candidate:'));
    expect(candidates.length).toBeGreaterThan(0);
    for (const line of candidates) expect(line.split(' ')[4]).toBe('127.0.0.1');
    expect(answer.headers.get('location')).toMatch(/^\/openai\/v1\/realtime\/calls\/rtc_[0-9a-f]{24}$/);
    expect(openai.calls).toMatchObject([{ account: 'contoso-aoai', model: 'gpt-realtime', webrtcFilter: true }]);

    const again = await connect(CONTOSO, value, await browserOffer());
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('already started a call');
    expect(openai.calls).toHaveLength(1);
  });

  it('refuses an unknown key, no key, a key minted at another account, and an expired key, with 401', async () => {
    const sdp = await browserOffer();
    expect((await connect(CONTOSO, 'ek_00000000000000000000000000000000', sdp)).status).toBe(401);
    expect((await connect(CONTOSO, undefined, sdp)).status).toBe(401);
    const other = await mint(
      'https://keyless-aoai.openai.azure.com',
      { bearer: await entraToken() },
      { session: { type: 'realtime', model: 'voice' } },
    );
    const { value: otherKey } = (await other.json()) as MintAnswer;
    expect((await connect(CONTOSO, otherKey, sdp)).status).toBe(401);

    const { value } = await mintedKey();
    clock.now += 60_000;
    const expired = await connect(CONTOSO, value, sdp);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('expired');
    expect(openai.calls).toEqual([]);
  });

  it('refuses an api-version (401), another content type (400) and an offer that is not SDP (400), keeping the key', async () => {
    const { value } = await mintedKey();
    const sdp = await browserOffer();
    expect((await connect(CONTOSO, value, sdp, {}, '?webrtcfilter=on&api-version=2025-08-28')).status).toBe(401);
    expect((await connect(CONTOSO, value, sdp, { 'Content-Type': 'text/plain' })).status).toBe(400);
    const garbage = await connect(CONTOSO, value, 'this is not an offer');
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toContain('The SDP offer cannot be used');
    expect((await connect(CONTOSO, value, sdp)).status).toBe(201);
  });

  it('lets a browser on another origin post its offer (CORS), exposing Location', async () => {
    const preflight = await openai.fetch(`${CONTOSO}/openai/v1/realtime/calls?webrtcfilter=on`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://127.0.0.1:5173',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    const { value } = await mintedKey();
    const answer = await connect(CONTOSO, value, await browserOffer(), { Origin: 'http://127.0.0.1:5173' });
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect(answer.headers.get('access-control-expose-headers')).toBe('Location');
  });
});

describe("calls: keys that last until they expire (OpenAI's reference)", () => {
  it('start any number of calls until expires_at', async () => {
    const lenient = await startFakeAzureOpenAI({
      accounts: [{ name: 'lenient', deployments: { rt: 'gpt-realtime' } }],
      keyUse: 'untilExpiry',
      now: () => clock.now,
    });
    const peers: RTCPeerConnection[] = [];
    try {
      const minted = await lenient.fetch(`${lenient.url}/openai/v1/realtime/client_secrets`, {
        method: 'POST',
        headers: { Authorization: 'Bearer any', 'Content-Type': 'application/json' },
        body: JSON.stringify({ session: { type: 'realtime', model: 'rt' } }),
      });
      const { value } = (await minted.json()) as MintAnswer;
      for (let i = 0; i < 2; i++) {
        const made = await offer();
        peers.push(made.peer);
        const answer = await lenient.fetch(`${lenient.url}/openai/v1/realtime/calls`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${value}`, 'Content-Type': 'application/sdp' },
          body: made.sdp,
        });
        expect(answer.status).toBe(201);
      }
      expect(lenient.calls.map((c) => c.webrtcFilter)).toEqual([false, false]);
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
      await lenient.close();
    }
  });
});

describe('calls: a Node peer through the whole exchange', () => {
  it('without webrtcfilter the data channel shows the instructions; with it, not', async () => {
    for (const filter of [false, true]) {
      const { value } = await mintedKey();
      const peer = new RTCPeerConnection({
        iceServers: [],
        iceUseIpv4: false,
        iceUseIpv6: false,
        iceAdditionalHostAddresses: ['127.0.0.1'],
      });
      try {
        peer.addTransceiver('audio', { direction: 'sendrecv' });
        const channel = peer.createDataChannel('oai-events');
        const events: Record<string, unknown>[] = [];
        channel.onMessage.subscribe((data) => events.push(JSON.parse(data.toString()) as Record<string, unknown>));
        await peer.setLocalDescription(await peer.createOffer());
        const answer = await connect(
          CONTOSO,
          value,
          peer.localDescription?.sdp ?? '',
          {},
          filter ? '?webrtcfilter=on' : '',
        );
        expect(answer.status).toBe(201);
        await peer.setRemoteDescription({ type: 'answer', sdp: await answer.text() });
        await vi.waitFor(() => expect(events[0]?.type).toBe('session.created'), { timeout: 15_000, interval: 50 });
        const session = events[0]?.session as Record<string, unknown>;
        expect(session.model).toBe('gpt-realtime');
        expect('instructions' in session).toBe(!filter);
      } finally {
        await peer.close();
      }
    }
    expect(openai.calls.map((c) => c.webrtcFilter)).toEqual([false, true]);
  });
});
