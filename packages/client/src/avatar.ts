import { TokenVendingError } from './errors.js';
import type { FetchLike } from './tokenProvider.js';
import { isRecord, type VendedToken } from './vendedToken.js';

// The text-to-speech avatar streams its video over WebRTC through a TURN relay. Its credentials
// come from the Speech resource's relay endpoint, which takes the vended token as bearer, so a
// browser never needs the resource key for them (the avatar samples push the key into the page).

/**
 * One ICE server in the shape `RTCPeerConnection`'s `iceServers` takes (the DOM's `RTCIceServer`,
 * declared here so the client needs no DOM types).
 */
export interface IceServer {
  /** The TURN URLs, e.g. `turn:relay.communication.microsoft.com:3478`. */
  readonly urls: string[];
  /** The relay's user name, valid for a limited time. */
  readonly username: string;
  /** The relay's password for `username`. */
  readonly credential: string;
}

/** Options of {@link getAvatarIceServers}. */
export interface AvatarIceServersOptions {
  /**
   * Ask here instead of `token.endpoints.avatarRelay` (a proxy). The vended token is still sent.
   */
  readonly endpoint?: string | URL;
  /**
   * The fetch to use.
   * @defaultValue the global `fetch`
   */
  readonly fetch?: FetchLike;
  /** Aborts the request: the promise rejects with `aborted`. */
  readonly signal?: AbortSignal;
}

/**
 * The TURN relay for a real-time text-to-speech avatar session, as `RTCIceServer`s: `GET
 * endpoints.avatarRelay` with the vended token as `Authorization: Bearer`, which answers
 * `{ Urls, Username, Password }`.
 *
 * @param token - A Speech or multi-service token from {@link TokenProvider.getToken}.
 * @param options - Another endpoint, a fetch, an abort signal.
 * @returns One ICE server: `new RTCPeerConnection({ iceServers: await getAvatarIceServers(token) })`.
 * @throws {@link TokenVendingError} `invalid_response` when the token has no `avatarRelay` endpoint
 *   (not a Speech resource) or the relay's answer is not ICE credentials; `http_<status>` when the
 *   relay refused (401: the token expired, or the resource is not the relay's); `network_error`;
 *   `aborted`.
 *
 * @example
 * ```ts
 * const token = await speechTokens.getToken();
 * const peer = new RTCPeerConnection({ iceServers: await getAvatarIceServers(token) });
 * const synthesizer = new sdk.AvatarSynthesizer(createSpeechConfig(sdk, token), avatarConfig);
 * await synthesizer.startAvatarAsync(peer);
 * ```
 */
export async function getAvatarIceServers(
  token: VendedToken,
  options: AvatarIceServersOptions = {},
): Promise<IceServer[]> {
  const endpoint = options.endpoint ?? token.endpoints.avatarRelay;
  if (endpoint === undefined) {
    throw new TokenVendingError(
      'invalid_response',
      `The token for "${token.resource}" (${token.kind}) has no avatarRelay endpoint: the avatar relay belongs to Speech and multi-service resources.`,
    );
  }
  const fetchRelay = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  let response: Response;
  try {
    response = await fetchRelay(String(endpoint), {
      headers: { Authorization: `Bearer ${token.accessToken}` },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    const aborted = options.signal?.aborted === true;
    throw new TokenVendingError(
      aborted ? 'aborted' : 'network_error',
      aborted ? 'The avatar relay request was aborted.' : 'The avatar relay could not be reached.',
      { cause: error },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new TokenVendingError(
      `http_${response.status}`,
      response.status === 401
        ? 'The avatar relay refused the token: ask the provider for a fresh one, and check that the resource is a Speech or multi-service resource.'
        : `The avatar relay answered ${response.status}.`,
      { status: response.status },
    );
  }
  const relay: unknown = await response.json().catch(() => undefined);
  const urls =
    isRecord(relay) && Array.isArray(relay.Urls)
      ? relay.Urls.filter((url): url is string => typeof url === 'string')
      : [];
  if (
    !isRecord(relay) ||
    urls.length === 0 ||
    typeof relay.Username !== 'string' ||
    typeof relay.Password !== 'string'
  ) {
    throw new TokenVendingError('invalid_response', 'The avatar relay did not answer with ICE credentials.', {
      status: response.status,
    });
  }
  return [{ urls, username: relay.Username, credential: relay.Password }];
}
