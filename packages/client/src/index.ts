/**
 * A dependency-free client for the AI token-vending API (`GET {baseUrl}/api/token/{resource}`):
 * {@link createTokenProvider} gets, caches and refreshes short-lived Azure AI services tokens for
 * an Entra-signed-in app; {@link createSpeechConfig} and {@link keepFresh} hand them to the Speech
 * SDK; {@link getAvatarIceServers} gets the text-to-speech avatar's TURN relay with the same token;
 * `subscribe` tells an app what the provider does ({@link TokenProviderEvent}: new tokens,
 * retries, throttling, errors, expiry); {@link connectRealtime} opens a GPT Realtime voice session
 * over WebRTC with a key of its own. Runs wherever `fetch`, `AbortController`,
 * `setTimeout`/`clearTimeout`, `Date` and `URL` exist: browsers, React Native, Node 20+. Everything
 * it throws is a {@link TokenVendingError}.
 *
 * @packageDocumentation
 */
export { TokenVendingError, type ClientErrorCode, type TokenVendingErrorDetails } from './errors.js';
export type {
  TokenErrorEvent,
  TokenExpiredEvent,
  TokenRetryingEvent,
  TokenThrottledEvent,
  TokenProviderEvent,
  TokenProviderListener,
  TokenReceivedEvent,
} from './events.js';
export { parseVendedToken, requestHeaders, type RealtimeSession, type VendedToken } from './vendedToken.js';
export {
  connectRealtime,
  type RealtimeAudioOutput,
  type RealtimeAudioSource,
  type RealtimeConnection,
  type RealtimeDataChannel,
  type RealtimeOptions,
  type RealtimePeerConnection,
} from './realtime.js';
export {
  createTokenProvider,
  type FetchLike,
  type GetAccessTokenOptions,
  type GetTokenOptions,
  type TokenProvider,
  type TokenProviderOptions,
} from './tokenProvider.js';
export {
  createSpeechConfig,
  keepFresh,
  type AuthorizationTokenTarget,
  type KeepFreshOptions,
  type SpeechConfigOptions,
  type SpeechSdkLike,
  type SpeechService,
} from './speech.js';
export { getAvatarIceServers, type AvatarIceServersOptions, type IceServer } from './avatar.js';
