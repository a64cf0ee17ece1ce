import { TokenVendingError } from './errors.js';
import type { TokenProvider } from './tokenProvider.js';
import type { VendedToken } from './vendedToken.js';

// Helpers for the Speech SDK (`microsoft-cognitiveservices-speech-sdk`) that do not import it:
// the app passes the SDK module in. The few parts used are declared here structurally, so the
// client keeps no dependency and works with whichever SDK build the app loads (npm, or the browser
// bundle's `window.SpeechSDK`).

/** Anything with a settable token: `SpeechConfig`, `SpeechRecognizer`, `SpeechSynthesizer`, `TranslationRecognizer`, … */
export interface AuthorizationTokenTarget {
  /** The Azure AI services token the object authenticates its next connection with. */
  authorizationToken: string;
}

/**
 * The part of the Speech SDK module that {@link createSpeechConfig} calls: pass the module itself
 * (`import * as sdk from 'microsoft-cognitiveservices-speech-sdk'`, or `window.SpeechSDK`).
 *
 * @typeParam Config - The SDK's `SpeechConfig` type, which `createSpeechConfig` returns.
 */
export interface SpeechSdkLike<Config extends AuthorizationTokenTarget> {
  /** The SDK's `SpeechConfig` class. */
  readonly SpeechConfig: {
    /** A config for a regional resource, authenticated with a token. */
    fromAuthorizationToken(authorizationToken: string, region: string): Config;
    /** A config that connects to `endpoint`; the token is set on it afterwards. */
    fromEndpoint(endpoint: URL): Config;
  };
}

/** The Speech service a config is for; it matters only for a custom-subdomain resource. */
export type SpeechService = 'stt' | 'tts';

/** Options of {@link createSpeechConfig}. */
export interface SpeechConfigOptions {
  /**
   * `stt` for recognizers, `tts` for synthesizers. Used only when the config is built from an
   * endpoint (custom subdomain): each service has its own WebSocket path there, while a
   * region-based config serves both.
   * @defaultValue `'stt'`
   */
  readonly service?: SpeechService;
  /**
   * Connect here instead of where the token's `region` or `endpoints` point (a private endpoint,
   * a proxy). The vended token is still used.
   */
  readonly endpoint?: string | URL;
}

/**
 * A `SpeechConfig` that authenticates with the vended token.
 *
 * - Regional resource: `SpeechConfig.fromAuthorizationToken(token, region)`. The SDK derives the
 *   host from the region, including `.azure.cn` for `china*` and `.azure.us` for `usgov*` regions.
 * - Custom subdomain (`region: null`): `SpeechConfig.fromEndpoint(new URL(endpoints.stt))` (or
 *   `endpoints.tts` with `{ service: 'tts' }`), then `authorizationToken` is set on it. That is how
 *   the SDK takes a token with an endpoint; `fromEndpoint` is called with the URL alone, because
 *   recent SDKs reject an empty key string there. The API sends `stt` and `tts` as the WebSocket
 *   URLs of the resource's own host (`wss://{name}.cognitiveservices.azure.com/stt/…`,
 *   `…/tts/cognitiveservices/websocket/v1`), which every SDK version accepts as they are.
 *
 * Needs the platform's `URL` only on the endpoint path.
 *
 * @typeParam Config - The SDK's `SpeechConfig` type.
 * @param sdk - The Speech SDK module.
 * @param token - A token from {@link TokenProvider.getToken}.
 * @param options - The service (`stt` or `tts`) for a custom subdomain, or an `endpoint` to use instead.
 * @returns A `SpeechConfig` (the SDK's own type), ready to create recognizers or synthesizers with.
 * @throws {@link TokenVendingError} `invalid_response` when the token has no `region` and no
 *   `endpoints[service]`, and no `endpoint` was given; `TypeError` when the endpoint is not a URL.
 */
export function createSpeechConfig<Config extends AuthorizationTokenTarget>(
  sdk: SpeechSdkLike<Config>,
  token: VendedToken,
  options: SpeechConfigOptions = {},
): Config {
  if (options.endpoint === undefined && token.region !== null) {
    return sdk.SpeechConfig.fromAuthorizationToken(token.accessToken, token.region);
  }
  const service = options.service ?? 'stt';
  const endpoint = options.endpoint ?? token.endpoints[service];
  if (endpoint === undefined) {
    throw new TokenVendingError(
      'invalid_response',
      `The token for "${token.resource}" has no region and no endpoints.${service} to connect the Speech SDK to; pass { endpoint }.`,
    );
  }
  const config = sdk.SpeechConfig.fromEndpoint(typeof endpoint === 'string' ? new URL(endpoint) : endpoint);
  config.authorizationToken = token.accessToken;
  return config;
}

/** Options of {@link keepFresh}. */
export interface KeepFreshOptions {
  /**
   * Milliseconds between two asks for the provider's token (a cache hit, no request, until the
   * token is within `refreshMarginMs` of expiry). Keep it below the provider's `refreshMarginMs`
   * (60 s) so the new token is in place before the old one expires. Short steps also survive
   * throttled background tabs, and stay under React Native's long-timer warning.
   * @defaultValue 30 000 (30 s)
   */
  readonly checkEveryMs?: number;
  /**
   * Schedules the next check; `ms` is milliseconds.
   * @defaultValue the global `setTimeout`
   */
  setTimeout?(callback: () => void, ms: number): unknown;
  /**
   * Cancels what {@link KeepFreshOptions.setTimeout} scheduled.
   * @defaultValue the global `clearTimeout`
   */
  clearTimeout?(handle: unknown): void;
  /**
   * A refresh failed (after the provider's own retries); checking goes on and the targets keep
   * the token they have. Usually a `TokenVendingError`.
   * @defaultValue none: the error is dropped
   */
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps `authorizationToken` current on long-lived recognizers, synthesizers or configs, and
 * returns the function that stops it.
 *
 * Why: a vended token lasts 10 minutes, but continuous recognition, a conversation or a
 * synthesizer kept for a page's lifetime runs far longer, and the SDK authenticates each new
 * WebSocket connection (it reconnects on its own during long sessions) with the token the object
 * holds *then*. A recognizer or synthesizer copies the token from its `SpeechConfig` when it is
 * created, so refreshing the config alone does not reach objects already made: pass them here.
 * Every token the provider fetches, for whoever asked, is applied too.
 *
 * @param provider - Where tokens come from, usually a {@link TokenProvider}.
 * @param targets - One object with an `authorizationToken`, or a list of them.
 * @param options - How often to check, and where refresh failures go.
 * @returns The function that stops it: no more checks, and an ask under way is aborted.
 * @throws `RangeError` when `checkEveryMs` is not a positive number.
 *
 * @example
 * ```ts
 * const recognizer = new sdk.SpeechRecognizer(createSpeechConfig(sdk, await speechTokens.getToken()));
 * const stop = keepFresh(speechTokens, recognizer, { onError: (error) => console.warn(error) });
 * // … when the session ends
 * stop();
 * recognizer.close();
 * ```
 */
export function keepFresh(
  provider: Pick<TokenProvider, 'getToken' | 'subscribe'>,
  targets: AuthorizationTokenTarget | readonly AuthorizationTokenTarget[],
  options: KeepFreshOptions = {},
): () => void {
  const list: readonly AuthorizationTokenTarget[] = isList(targets) ? [...targets] : [targets];
  const checkEveryMs = options.checkEveryMs ?? 30_000;
  if (!Number.isFinite(checkEveryMs) || checkEveryMs <= 0)
    throw new RangeError('keepFresh: checkEveryMs must be a positive number.');
  const setTimer = (callback: () => void, ms: number): unknown =>
    options.setTimeout ? options.setTimeout(callback, ms) : setTimeout(callback, ms);
  const clearTimer = (handle: unknown): void => {
    if (options.clearTimeout) options.clearTimeout(handle);
    else clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  };
  const stopping = new AbortController();
  let stopped = false;
  let timer: unknown;

  const apply = (token: VendedToken) => {
    if (stopped) return;
    for (const target of list) {
      if (target.authorizationToken !== token.accessToken) target.authorizationToken = token.accessToken;
    }
  };
  const unsubscribe = provider.subscribe((event) => {
    if (event.type === 'token') apply(event.token);
  });
  const check = () => {
    provider
      .getToken({ signal: stopping.signal })
      .then(apply, (error: unknown) => {
        if (!stopped) options.onError?.(error);
      })
      .finally(() => {
        if (!stopped) timer = setTimer(check, checkEveryMs);
      });
  };
  check();

  return () => {
    if (stopped) return;
    stopped = true;
    clearTimer(timer);
    stopping.abort();
    unsubscribe();
  };
}

function isList(
  value: AuthorizationTokenTarget | readonly AuthorizationTokenTarget[],
): value is readonly AuthorizationTokenTarget[] {
  return Array.isArray(value);
}
