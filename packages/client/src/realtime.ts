import { describeCause, TokenVendingError } from './errors.js';
import { createTokenProvider, type TokenProviderOptions } from './tokenProvider.js';
import { isRecord, type VendedToken } from './vendedToken.js';

// GPT Realtime over WebRTC (Azure OpenAI / Foundry): a one-minute key from the API, the SDP offer
// to `endpoints.webrtc` with it, the answer applied. The WebRTC objects are declared here
// structurally, as the Speech SDK's are in speech.ts: the browser's own `RTCPeerConnection` fits,
// and so does react-native-webrtc's, and the package still names no WebRTC global but one, read
// only when `connectRealtime` runs without `createPeerConnection`.

/** The part of a data channel (`RTCDataChannel`) the client uses; the channel you get is the platform's own. */
export interface RealtimeDataChannel {
  /** `oai-events`: the channel the session's events travel on. */
  readonly label: string;
  /** Sends one event, as JSON text. */
  send(data: string): void;
  /** Closes the channel. */
  close(): void;
}

/**
 * The part of a peer connection (`RTCPeerConnection`) the client calls; the browser's and
 * react-native-webrtc's fit. Pass `createPeerConnection` to get your platform's type back.
 */
export interface RealtimePeerConnection {
  /** Adds the microphone's audio track, sent to the model. */
  addTrack(track: unknown, ...streams: unknown[]): unknown;
  /** Opens the events channel (`oai-events`). */
  createDataChannel(label: string): RealtimeDataChannel;
  /** Makes the SDP offer. */
  createOffer(): Promise<{ readonly sdp?: string | undefined }>;
  /** Applies the offer locally. */
  setLocalDescription(description: { type: 'offer'; sdp: string }): Promise<void>;
  /** Applies Azure OpenAI's answer. */
  setRemoteDescription(description: { type: 'answer'; sdp: string }): Promise<void>;
  /** Ends the connection. */
  close(): void;
}

/** What the microphone is: a `MediaStream` (`getUserMedia({ audio: true })`) or anything with its audio tracks. */
export interface RealtimeAudioSource {
  /** The tracks sent to the model. */
  getAudioTracks(): readonly unknown[];
}

/** Where the model's voice plays: an `<audio autoplay>` element, or anything with `srcObject`. */
export interface RealtimeAudioOutput {
  /** Set to the remote stream when the model's audio track arrives. */
  srcObject: unknown;
}

/** Options of {@link connectRealtime}: the token provider's, plus the microphone and WebRTC's own. */
export interface RealtimeOptions<PC extends RealtimePeerConnection = RealtimePeerConnection> extends Omit<
  TokenProviderOptions,
  'refreshMarginMs'
> {
  /** The microphone: `await navigator.mediaDevices.getUserMedia({ audio: true })`. Its tracks are not stopped by `close()`. */
  readonly audio: RealtimeAudioSource;
  /** Where the model's voice plays. Leave out on platforms that play remote audio themselves (react-native-webrtc). */
  readonly audioOutput?: RealtimeAudioOutput;
  /**
   * Makes the peer connection, e.g. `() => new RTCPeerConnection()` from react-native-webrtc, or
   * a browser one with your own configuration. Its type is the `peerConnection` you get back.
   * @defaultValue `new RTCPeerConnection()` (the platform's)
   */
  readonly createPeerConnection?: () => PC;
  /** Stops connecting (it rejects with `aborted` and closes what it opened); has no effect once connected. */
  readonly signal?: AbortSignal;
}

/** One live realtime session, from {@link connectRealtime}. */
export interface RealtimeConnection<PC extends RealtimePeerConnection = RealtimePeerConnection> {
  /** The peer connection; watch its `connectionState`. */
  readonly peerConnection: PC;
  /**
   * The `oai-events` data channel: `session.created` arrives on it once it opens, then the
   * session's events (JSON text); send client events (`response.create`, …) with `send`.
   */
  readonly events: ReturnType<PC['createDataChannel']>;
  /** The key's answer from the API: `session` (model and voice), `endpoints.webrtc`, when the key expired. Spent once connected. */
  readonly token: VendedToken;
  /** Ends the session: closes the events channel and the peer connection. The microphone stays yours to stop. */
  close(): void;
}

/**
 * Connects to a GPT Realtime resource over WebRTC: asks the API for a one-minute key (every call
 * gets a new one: a key starts one connection), adds the microphone's tracks and the `oai-events`
 * channel to a new peer connection, posts the SDP offer to the answer's `endpoints.webrtc` with
 * `Authorization: Bearer <key>` and `Content-Type: application/sdp`, and applies the SDP answer.
 * It returns once the answer is applied; `session.created` follows on `events`.
 *
 * @param options - Where the API is, the resource, the caller's Entra token (as for
 *   {@link createTokenProvider}), the microphone, and optionally where the voice plays.
 * @returns The peer connection, the events channel, the key's answer and `close()`.
 * @throws {@link TokenVendingError}: the API's codes and the provider's (`rate_limited`,
 *   `forbidden`, `network_error`, …), `not_realtime` (the resource is not an `openai-realtime`
 *   one), `webrtc_unavailable` (no `RTCPeerConnection` here and no `createPeerConnection`),
 *   `realtime_connection_failed` (Azure OpenAI refused the offer or could not be reached; `status`
 *   when it answered), `aborted`. Whatever it opened is closed first.
 *
 * @example
 * ```ts
 * const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
 * const talk = await connectRealtime({
 *   baseUrl: 'https://func-xxxx.azurewebsites.net',
 *   resource: 'assistant',
 *   getAccessToken: async () => (await msal.acquireTokenSilent({ scopes, account })).accessToken,
 *   audio: microphone,
 *   audioOutput: document.querySelector('audio')!,
 * });
 * talk.events.addEventListener('message', (e) => console.log(JSON.parse(e.data).type));
 * ```
 */
export async function connectRealtime<PC extends RealtimePeerConnection = RealtimePeerConnection>(
  options: RealtimeOptions<PC>,
): Promise<RealtimeConnection<PC>> {
  const { signal } = options;
  const provider = createTokenProvider({ ...options, refreshMarginMs: 0 });
  const token = await provider.getToken(signal === undefined ? {} : { signal });
  const webrtc = token.endpoints.webrtc;
  if (webrtc === undefined) {
    throw new TokenVendingError(
      'not_realtime',
      `Resource "${token.resource}" is a ${token.kind} resource, not a GPT Realtime one: its answer has no endpoints.webrtc.`,
    );
  }
  const peerConnection = newPeerConnection(options.createPeerConnection);
  try {
    for (const track of options.audio.getAudioTracks()) peerConnection.addTrack(track, options.audio);
    const output = options.audioOutput;
    if (output !== undefined) {
      (peerConnection as unknown as { ontrack: ((event: { streams: readonly unknown[] }) => void) | null }).ontrack = (
        event,
      ) => {
        output.srcObject = event.streams[0] ?? null;
      };
    }
    const events = peerConnection.createDataChannel('oai-events') as ReturnType<PC['createDataChannel']>;
    const offer = await peerConnection.createOffer();
    if (offer.sdp === undefined)
      throw new TokenVendingError('webrtc_unavailable', 'The peer connection made no SDP offer.');
    await peerConnection.setLocalDescription({ type: 'offer', sdp: offer.sdp });
    throwIfAborted(signal);
    const answer = await postOffer(webrtc, token.accessToken, offer.sdp, options);
    throwIfAborted(signal);
    await peerConnection.setRemoteDescription({ type: 'answer', sdp: answer });
    return {
      peerConnection,
      events,
      token,
      close() {
        events.close();
        peerConnection.close();
      },
    };
  } catch (error) {
    peerConnection.close();
    if (error instanceof TokenVendingError) throw error;
    throw new TokenVendingError(
      'realtime_connection_failed',
      `WebRTC failed while connecting: ${describeCause(error)}.`,
      {
        cause: error,
      },
    );
  }
}

function newPeerConnection<PC extends RealtimePeerConnection>(create: (() => PC) | undefined): PC {
  if (create !== undefined) return create();
  const Platform = (globalThis as unknown as { RTCPeerConnection?: new () => PC }).RTCPeerConnection;
  if (Platform === undefined) {
    throw new TokenVendingError(
      'webrtc_unavailable',
      'There is no RTCPeerConnection here: pass createPeerConnection (react-native-webrtc: () => new RTCPeerConnection()).',
    );
  }
  return new Platform();
}

/** The offer to Azure OpenAI, the answer back: 201 (or 200) with `application/sdp`. */
async function postOffer(
  url: string,
  key: string,
  sdp: string,
  options: Pick<RealtimeOptions, 'fetch' | 'signal' | 'attemptTimeoutMs' | 'setTimeout' | 'clearTimeout'>,
): Promise<string> {
  const doFetch = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = options.attemptTimeoutMs ?? 15_000;
  const timer = options.setTimeout
    ? options.setTimeout(() => controller.abort(), timeoutMs)
    : setTimeout(() => controller.abort(), timeoutMs);
  const host = hostOf(url);
  let response: Response;
  let text: string;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/sdp' },
      body: sdp,
      signal: controller.signal,
    });
    text = await response.text();
  } catch (error) {
    throwIfAborted(options.signal);
    throw new TokenVendingError(
      'realtime_connection_failed',
      controller.signal.aborted
        ? `Azure OpenAI at ${host} did not answer the SDP offer within ${timeoutMs} ms.`
        : `Could not reach Azure OpenAI at ${host} (${describeCause(error)}).`,
      { cause: error },
    );
  } finally {
    if (options.clearTimeout) options.clearTimeout(timer);
    else clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (response.status !== 201 && response.status !== 200) {
    throw new TokenVendingError(
      'realtime_connection_failed',
      `Azure OpenAI at ${host} refused the SDP offer with ${response.status}${upstreamMessage(text)}.`,
      { status: response.status },
    );
  }
  return text;
}

/** `: "<message>"` from an OpenAI-shaped error body, or nothing. */
function upstreamMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    const error = isRecord(body) ? body.error : undefined;
    const message = isRecord(error) ? error.message : undefined;
    return typeof message === 'string' ? `: "${message.slice(0, 300)}"` : '';
  } catch {
    return '';
  }
}

/** The host of a URL by string alone: React Native's `URL` throws on `host`. */
function hostOf(url: string): string {
  return /^[a-z]+:\/\/([^/?#]+)/i.exec(url)?.[1] ?? url;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TokenVendingError('aborted', 'Connecting was aborted.');
}
