/**
 * `connectRealtime` against a scripted API and Azure OpenAI at the fetch boundary, with a stand-in
 * peer connection that records what the client does with it. The real thing, Chromium through the
 * service to the fake's WebRTC peer, is test/devstack/realtimeThroughService.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  connectRealtime,
  TokenVendingError,
  type FetchLike,
  type RealtimeDataChannel,
  type RealtimePeerConnection,
} from '../../packages/client/src/index.js';

const WEBRTC = 'https://contoso-aoai.openai.azure.com/openai/v1/realtime/calls?webrtcfilter=on';
const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

function keyAnswer(n: number, overrides: Record<string, unknown> = {}) {
  return {
    accessToken: `ek_key${n}`,
    tokenType: 'Bearer',
    expiresOn: new Date(Date.now() + 60_000).toISOString(),
    expiresInSeconds: 60,
    resource: 'assistant',
    kind: 'openai-realtime',
    cloud: 'AzureCloud',
    region: 'eastus2',
    endpoints: { webrtc: WEBRTC },
    headers: {},
    session: { model: 'gpt-realtime', voice: 'marin' },
    ...overrides,
  };
}

interface Sent {
  readonly url: string;
  readonly method: string | undefined;
  readonly headers: Headers;
  readonly body: unknown;
}

/** The API and Azure OpenAI: each request takes the next answer. */
function wire(answers: ((request: Sent) => Response | Promise<Response>)[]): { fetch: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: async (url, init) => {
      const request = { url, method: init.method, headers: new Headers(init.headers), body: init.body };
      sent.push(request);
      const next = answers.shift();
      if (next === undefined) throw new Error(`unexpected request to ${url}`);
      return next(request);
    },
  };
}
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const sdp = (status = 201) => new Response(ANSWER, { status, headers: { 'content-type': 'application/sdp' } });

class FakeChannel implements RealtimeDataChannel {
  closed = false;
  constructor(readonly label: string) {}
  send(): void {}
  close(): void {
    this.closed = true;
  }
}

class FakePeer implements RealtimePeerConnection {
  readonly tracks: unknown[] = [];
  readonly channels: FakeChannel[] = [];
  local: string | undefined;
  remote: string | undefined;
  closed = false;
  ontrack: ((event: { streams: readonly unknown[] }) => void) | null = null;
  addTrack(track: unknown): void {
    this.tracks.push(track);
  }
  createDataChannel(label: string): FakeChannel {
    const channel = new FakeChannel(label);
    this.channels.push(channel);
    return channel;
  }
  createOffer() {
    return Promise.resolve({ sdp: OFFER });
  }
  setLocalDescription(description: { sdp: string }) {
    this.local = description.sdp;
    return Promise.resolve();
  }
  setRemoteDescription(description: { sdp: string }) {
    this.remote = description.sdp;
    this.ontrack?.({ streams: ['remote-stream'] });
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

const microphone = { getAudioTracks: () => ['mic-track'] };

function baseOptions(fetch: FetchLike) {
  return {
    baseUrl: 'https://func.example',
    resource: 'assistant',
    getAccessToken: () => 'entra-token',
    audio: microphone,
    fetch,
    maxAttempts: 1,
  };
}

function options(fetch: FetchLike, peers: FakePeer[]) {
  return {
    ...baseOptions(fetch),
    createPeerConnection: () => {
      const peer = new FakePeer();
      peers.push(peer);
      return peer;
    },
  };
}

describe('connectRealtime', () => {
  it('asks the API for a key, posts the offer to endpoints.webrtc with it, and applies the answer', async () => {
    const peers: FakePeer[] = [];
    const { fetch, sent } = wire([() => json(200, keyAnswer(1)), () => sdp()]);
    const output = { srcObject: null as unknown };
    const talk = await connectRealtime({ ...options(fetch, peers), audioOutput: output });

    expect(sent.map((r) => [r.method, r.url])).toEqual([
      ['GET', 'https://func.example/api/token/assistant'],
      ['POST', WEBRTC],
    ]);
    expect(sent[0]?.headers.get('authorization')).toBe('Bearer entra-token');
    expect(sent[1]?.headers.get('authorization')).toBe('Bearer ek_key1');
    expect(sent[1]?.headers.get('content-type')).toBe('application/sdp');
    expect(sent[1]?.body).toBe(OFFER);

    const [peer] = peers;
    expect(talk.peerConnection).toBe(peer);
    expect(peer?.tracks).toEqual(['mic-track']);
    expect(peer?.local).toBe(OFFER);
    expect(peer?.remote).toBe(ANSWER);
    expect(talk.events.label).toBe('oai-events');
    expect(output.srcObject).toBe('remote-stream');
    expect(talk.token).toMatchObject({ kind: 'openai-realtime', session: { model: 'gpt-realtime', voice: 'marin' } });

    talk.close();
    expect([peer?.closed, peer?.channels[0]?.closed]).toEqual([true, true]);
  });

  it('asks for a new key for every connection', async () => {
    const peers: FakePeer[] = [];
    const { fetch, sent } = wire([
      () => json(200, keyAnswer(1)),
      () => sdp(),
      () => json(200, keyAnswer(2)),
      () => sdp(200),
    ]);
    await connectRealtime(options(fetch, peers));
    await connectRealtime(options(fetch, peers));
    expect(sent.filter((r) => r.method === 'POST').map((r) => r.headers.get('authorization'))).toEqual([
      'Bearer ek_key1',
      'Bearer ek_key2',
    ]);
  });

  it('passes the API’s refusal on as the typed error, before any peer connection', async () => {
    const peers: FakePeer[] = [];
    const { fetch } = wire([
      () =>
        new Response(
          JSON.stringify({ status: 429, code: 'rate_limited', detail: 'Too many requests.', retryAfterSeconds: 20 }),
          { status: 429, headers: { 'content-type': 'application/problem+json', 'retry-after': '20' } },
        ),
    ]);
    const error = await connectRealtime(options(fetch, peers)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenVendingError);
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 20 });
    expect(peers).toEqual([]);
  });

  it('not_realtime: a resource whose answer has no endpoints.webrtc', async () => {
    const peers: FakePeer[] = [];
    const { fetch } = wire([
      () => json(200, keyAnswer(1, { kind: 'speech', resource: 'speech', endpoints: { stt: 'wss://x' } })),
    ]);
    await expect(connectRealtime(options(fetch, peers))).rejects.toMatchObject({
      code: 'not_realtime',
      message: 'Resource "speech" is a speech resource, not a GPT Realtime one: its answer has no endpoints.webrtc.',
    });
    expect(peers).toEqual([]);
  });

  it('realtime_connection_failed: Azure OpenAI refuses the offer; the peer connection is closed', async () => {
    const peers: FakePeer[] = [];
    const { fetch } = wire([
      () => json(200, keyAnswer(1)),
      () =>
        json(401, { error: { code: '401', message: 'Unauthorized: the ephemeral key has expired; mint a new one.' } }),
    ]);
    const error = await connectRealtime(options(fetch, peers)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'realtime_connection_failed',
      status: 401,
      message:
        'Azure OpenAI at contoso-aoai.openai.azure.com refused the SDP offer with 401: "Unauthorized: the ephemeral key has expired; mint a new one.".',
    });
    expect(peers[0]?.closed).toBe(true);
    expect((error as Error).message).not.toContain('ek_key1');
  });

  it('realtime_connection_failed: Azure OpenAI cannot be reached', async () => {
    const peers: FakePeer[] = [];
    const { fetch } = wire([() => json(200, keyAnswer(1)), () => Promise.reject(new TypeError('fetch failed'))]);
    await expect(connectRealtime(options(fetch, peers))).rejects.toMatchObject({
      code: 'realtime_connection_failed',
      status: undefined,
      message: 'Could not reach Azure OpenAI at contoso-aoai.openai.azure.com (TypeError: fetch failed).',
    });
    expect(peers[0]?.closed).toBe(true);
  });

  it('webrtc_unavailable: no RTCPeerConnection here and none given', async () => {
    const { fetch } = wire([() => json(200, keyAnswer(1))]);
    await expect(connectRealtime(baseOptions(fetch))).rejects.toMatchObject({ code: 'webrtc_unavailable' });
  });

  it('aborted: the signal stops it and closes what it opened', async () => {
    const peers: FakePeer[] = [];
    const controller = new AbortController();
    const { fetch } = wire([
      () => json(200, keyAnswer(1)),
      (request) => {
        controller.abort();
        return Promise.reject(Object.assign(new Error('aborted'), { name: 'AbortError', request }));
      },
    ]);
    await expect(connectRealtime({ ...options(fetch, peers), signal: controller.signal })).rejects.toMatchObject({
      code: 'aborted',
    });
    expect(peers[0]?.closed).toBe(true);
  });
});
