import type { TokenProvider, VendedToken } from './tokenProvider.js';

/**
 * The few parts of the Speech SDK (microsoft-cognitiveservices-speech-sdk) this helper uses,
 * declared structurally so the client needs no dependency: pass the SDK module itself.
 */
export interface SpeechConfigLike {
  authorizationToken: string;
}
export interface SpeechSdkLike<Config extends SpeechConfigLike> {
  readonly SpeechConfig: {
    fromAuthorizationToken(authorizationToken: string, region: string): Config;
    fromEndpoint(endpoint: URL): Config;
  };
}

/**
 * A SpeechConfig for a vended token: by region for a regional resource; for a custom-subdomain
 * resource (`region: null`), by its endpoint, with the token set afterwards.
 */
export function createSpeechConfig<Config extends SpeechConfigLike>(sdk: SpeechSdkLike<Config>, token: VendedToken): Config {
  if (token.region !== null) return sdk.SpeechConfig.fromAuthorizationToken(token.accessToken, token.region);
  const endpoint = token.endpoints.base ?? token.endpoints.stt;
  if (endpoint === undefined) throw new Error(`The vended token for "${token.resource}" has neither a region nor a base endpoint.`);
  const config = sdk.SpeechConfig.fromEndpoint(new URL(endpoint));
  config.authorizationToken = token.accessToken;
  return config;
}

export interface KeepFreshOptions {
  /** How often to check, in ms. Default 30 s: far inside the 10-minute token lifetime. */
  readonly intervalMs?: number;
  readonly setInterval?: (callback: () => void, ms: number) => unknown;
  readonly clearInterval?: (handle: unknown) => void;
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps `authorizationToken` current on long-lived recognizers, synthesizers or configs. Tokens
 * last 10 minutes and a conversation or a dictation session can outlive one; the SDK uses the
 * new value on its next connection. Returns a stop function.
 */
export function keepFresh(provider: TokenProvider, targets: SpeechConfigLike | readonly SpeechConfigLike[], options: KeepFreshOptions = {}): () => void {
  const list = Array.isArray(targets) ? targets : [targets as SpeechConfigLike];
  const apply = (token: VendedToken) => {
    for (const target of list) target.authorizationToken = token.accessToken;
  };
  const unsubscribe = provider.subscribe(apply);
  const tick = () => {
    provider.getToken().then(apply, (error: unknown) => options.onError?.(error));
  };
  const set = options.setInterval ?? ((callback: () => void, ms: number) => setInterval(callback, ms));
  const clear = options.clearInterval ?? ((handle: unknown) => clearInterval(handle as ReturnType<typeof setInterval>));
  const handle = set(tick, options.intervalMs ?? 30_000);
  tick();
  return () => {
    clear(handle);
    unsubscribe();
  };
}
