import { randomBytes } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';

/** The realtime session a key was minted for, as `client_secrets` answered it. */
export type RealtimeSession = Readonly<Record<string, unknown>> & { readonly model: string };

/** One WebRTC call the fake answered, live: the counts move while the call runs. */
export interface FakeRealtimeCall {
  /** `rtc_…`, as in the answer's `Location`. */
  readonly id: string;
  /** The account that answered it. */
  readonly account: string;
  /** The session's model (the deployment name). */
  readonly model: string;
  /** `webrtcfilter=on`: instructions and tools never go out on the data channel. */
  readonly webrtcFilter: boolean;
  /** werift's connection state: `new`, `connecting`, `connected`, `disconnected`, `failed`, `closed`. */
  connectionState: string;
  /** Labels of the data channels the browser opened (the events channel is `oai-events`). */
  readonly dataChannels: string[];
  /** Audio RTP packets received from the browser. */
  audioPackets: number;
  /** Events the browser sent on `oai-events`, parsed (or `{ type: '(not JSON)' }`). */
  readonly eventsReceived: Record<string, unknown>[];
  /** Events the fake sent on `oai-events`. */
  readonly eventsSent: Record<string, unknown>[];
}

/** A peer answering one call; `close()` ends it. */
export interface RealtimePeer {
  /** The SDP answer, with every ICE candidate gathered (the fake does not trickle). */
  readonly answer: string;
  close(): Promise<void>;
}

/** The browser's offer could not be used (not SDP, no media section, …). */
export class OfferRefused extends Error {
  override readonly name = 'OfferRefused';
}

/** Gathering on one loopback address takes milliseconds; this only bounds a stuck gatherer. */
const GATHERING_BOUND_MS = 5_000;

/** What werift needs of an offer; it answers some SDP-less text instead of refusing it. */
const REQUIRED_IN_OFFER: readonly (readonly [RegExp, string])[] = [
  [/^v=0\r?\n/, 'the "v=0" line'],
  [/^m=(audio|application) /m, 'a media section'],
  [/^a=ice-ufrag:/m, 'ICE credentials'],
  [/^a=fingerprint:/m, 'a DTLS fingerprint'],
];

const eventId = () => `event_${randomBytes(12).toString('hex')}`;

/** What the data channel may show of the session: with the filter on, no prompt and no tools. */
function visibleSession(session: RealtimeSession, webrtcFilter: boolean): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(session).filter(([field]) => !webrtcFilter || (field !== 'instructions' && field !== 'tools')),
  );
}

/**
 * Answers a browser's SDP offer as the GA `/openai/v1/realtime/calls` endpoint does, with a real
 * WebRTC peer (werift): it takes the browser's audio track and counts its RTP packets, accepts the
 * `oai-events` data channel, sends `session.created` (the key's session) as soon as the channel
 * opens, and answers `session.update` (`session.updated`) and `response.create`
 * (`response.created`, `response.done`, no audio); another event type gets an `error` event.
 *
 * The peer binds and advertises 127.0.0.1 only, and uses no STUN server: the browser must be on
 * this machine. werift is imported on the first call, so a dev stack that never takes one does not
 * load it.
 *
 * @throws OfferRefused when werift cannot use the offer.
 */
export async function answerRealtimeOffer(
  offer: string,
  session: RealtimeSession,
  call: FakeRealtimeCall,
): Promise<RealtimePeer> {
  const missing = REQUIRED_IN_OFFER.filter(([pattern]) => !pattern.test(offer)).map(([, what]) => what);
  if (missing.length > 0) throw new OfferRefused(`The SDP offer cannot be used: it lacks ${missing.join(', ')}.`);
  const { RTCPeerConnection } = await import('werift');
  const peer: RTCPeerConnection = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  let current = { ...session };
  peer.connectionStateChange.subscribe((state) => {
    call.connectionState = state;
  });
  peer.onTrack.subscribe((track) => {
    if (track.kind !== 'audio') return;
    track.onReceiveRtp.subscribe(() => {
      call.audioPackets++;
    });
  });
  peer.onDataChannel.subscribe((channel) => {
    call.dataChannels.push(channel.label);
    if (channel.label !== 'oai-events') return;
    const send = (event: Record<string, unknown>) => {
      const sent = { event_id: eventId(), ...event };
      call.eventsSent.push(sent);
      channel.send(JSON.stringify(sent));
    };
    const opened = () => send({ type: 'session.created', session: visibleSession(current, call.webrtcFilter) });
    if (channel.readyState === 'open') opened();
    else
      channel.stateChanged.subscribe((state) => {
        if (state === 'open') opened();
      });
    channel.onMessage.subscribe((data) => {
      const event = parseEvent(data);
      call.eventsReceived.push(event);
      current = answerEvent(event, current, call.webrtcFilter, send);
    });
  });
  try {
    await peer.setRemoteDescription({ type: 'offer', sdp: offer });
    await peer.setLocalDescription(await peer.createAnswer());
  } catch (error) {
    await peer.close();
    throw new OfferRefused(`The SDP offer cannot be used: ${error instanceof Error ? error.message : String(error)}`);
  }
  await gathered(peer);
  const answer = peer.localDescription?.sdp;
  if (answer === undefined) {
    await peer.close();
    throw new OfferRefused('werift made no answer to the offer.');
  }
  return { answer, close: () => peer.close() };
}

function gathered(peer: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (peer.iceGatheringState === 'complete') {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, GATHERING_BOUND_MS);
    peer.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}

function parseEvent(data: string | Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // answered as an error event below
  }
  return { type: '(not JSON)' };
}

/** Answers one client event; returns the session as it stands after it. */
function answerEvent(
  event: Record<string, unknown>,
  session: RealtimeSession,
  webrtcFilter: boolean,
  send: (event: Record<string, unknown>) => void,
): RealtimeSession {
  const clientEventId = typeof event.event_id === 'string' ? event.event_id : null;
  switch (event.type) {
    case 'session.update': {
      const update = event.session;
      const next =
        typeof update === 'object' && update !== null ? { ...session, ...update, model: session.model } : session;
      send({ type: 'session.updated', session: visibleSession(next, webrtcFilter) });
      return next;
    }
    case 'response.create': {
      const id = `resp_${randomBytes(12).toString('hex')}`;
      const response = { object: 'realtime.response', id, output: [], conversation_id: null };
      send({ type: 'response.created', response: { ...response, status: 'in_progress' } });
      send({ type: 'response.done', response: { ...response, status: 'completed' } });
      return session;
    }
    default:
      send({
        type: 'error',
        error: {
          type: 'invalid_request_error',
          code: 'invalid_value',
          message: `The fake answers session.update and response.create; it does not implement ${JSON.stringify(event.type ?? null)}.`,
          param: 'type',
          event_id: clientEventId,
        },
      });
      return session;
  }
}
