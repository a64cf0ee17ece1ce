import { TokenVendingError } from './errors.js';

/** What `GET /api/token/{resource}` answers, with `expiresOn` as a `Date`. */
export interface VendedToken {
  /** The Azure AI services token: send it as `Authorization: Bearer …`, or give it to the Speech SDK. */
  readonly accessToken: string;
  /** Always `Bearer`. */
  readonly tokenType: 'Bearer';
  /**
   * When the service stops accepting `accessToken` (10 minutes after it was issued), by the API's
   * clock. The provider's cache counts from the API's `expiresInSeconds` instead, so it stays right
   * on a device whose clock is off.
   */
  readonly expiresOn: Date;
  /** The resource name the token was asked for (`TOKEN_RESOURCES[].name` on the API). */
  readonly resource: string;
  /** `speech`, `translator`, `cognitive` or `openai-realtime`. */
  readonly kind: string;
  /** `AzureCloud`, `AzureChinaCloud` or `AzureUSGovernment`. */
  readonly cloud: string;
  /** `null` for a custom-subdomain resource: use `endpoints` then. */
  readonly region: string | null;
  /**
   * Service URLs for this resource, by name: for Speech `stt` and `tts` (WebSocket), `sttRest`,
   * `ttsRest`, `voicesList`, `avatarRelay` (`getAvatarIceServers`); for Translator `text`; `base`, the resource's own host, for a
   * custom-subdomain or multi-service resource. Names the client does not know are kept.
   */
  readonly endpoints: Readonly<Record<string, string>>;
  /**
   * Headers to send beside the token, by endpoint name, for the few services that need one: a
   * multi-service or regional Translator resource's `text` endpoint takes
   * `Ocp-Apim-Subscription-Region`. Empty for most tokens; {@link requestHeaders} merges it in.
   */
  readonly headers: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * GPT Realtime (`openai-realtime`) only: the session the key opens, as the operator configured
   * it (never its instructions). Absent for other kinds.
   */
  readonly session?: RealtimeSession;
}

/** The session a GPT Realtime key opens. */
export interface RealtimeSession {
  /** The model deployment. */
  readonly model: string;
  /** The output voice; `null` when the service's default applies. */
  readonly voice: string | null;
}

/** A parsed answer, with its lifetime as this device counts it. */
export interface ReceivedToken {
  readonly token: VendedToken;
  /** `Date.now()`-style instant after which the token must not be used, by the local clock. */
  readonly expiresAt: number;
}

/**
 * Checks a `GET /api/token/{resource}` body field by field, by hand (the client has no
 * dependencies). Unknown fields are ignored, and so are endpoint entries that are not strings, so
 * the API can grow. For a body fetched by other means; `createTokenProvider` already does this.
 *
 * @param body - The parsed JSON of the API's 200 answer.
 * @returns The token, with `expiresOn` as a `Date`.
 * @throws {@link TokenVendingError} `invalid_response` (with `status` 200) when `body` is not a
 *   vended token.
 */
export function parseVendedToken(body: unknown): VendedToken {
  return receiveVendedToken(body, 0).token;
}

/**
 * `parseVendedToken`, plus the expiry by the local clock. The API also sends `expiresInSeconds`;
 * when it does, the local expiry is `requestedAt` plus that, which stays right on a device whose
 * clock is off (common on phones). Otherwise `expiresOn` is taken at face value.
 */
export function receiveVendedToken(body: unknown, requestedAt: number): ReceivedToken {
  if (!isRecord(body)) throw invalid('not a JSON object');
  const {
    accessToken,
    tokenType,
    expiresOn,
    expiresInSeconds,
    resource,
    kind,
    cloud,
    region,
    endpoints,
    headers,
    session,
  } = body;
  if (typeof accessToken !== 'string' || accessToken.length === 0) throw invalid('accessToken is missing');
  if (tokenType !== 'Bearer') throw invalid('tokenType is not "Bearer"');
  const expiry = typeof expiresOn === 'string' ? new Date(expiresOn) : undefined;
  if (expiry === undefined || Number.isNaN(expiry.getTime())) throw invalid('expiresOn is not an ISO 8601 date');
  if (typeof resource !== 'string' || resource.length === 0) throw invalid('resource is missing');
  if (typeof kind !== 'string' || kind.length === 0) throw invalid('kind is missing');
  if (typeof cloud !== 'string' || cloud.length === 0) throw invalid('cloud is missing');
  if (region !== null && (typeof region !== 'string' || region.length === 0))
    throw invalid('region is neither a name nor null');
  if (!isRecord(endpoints)) throw invalid('endpoints is not an object');
  const urls: Record<string, string> = {};
  for (const [name, value] of Object.entries(endpoints)) {
    if (typeof value === 'string') urls[name] = value;
  }
  // An older API sends no headers; entries that are not string maps are skipped, so the API can grow.
  const extraHeaders: Record<string, Record<string, string>> = {};
  if (isRecord(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      if (!isRecord(value)) continue;
      const strings = Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
      extraHeaders[name] = Object.fromEntries(strings);
    }
  }
  const expiresAt =
    typeof expiresInSeconds === 'number' && Number.isFinite(expiresInSeconds) && expiresInSeconds >= 0
      ? requestedAt + expiresInSeconds * 1000
      : expiry.getTime();
  return {
    token: {
      accessToken,
      tokenType,
      expiresOn: expiry,
      resource,
      kind,
      cloud,
      region,
      endpoints: urls,
      headers: extraHeaders,
      ...realtimeSession(session),
    },
    expiresAt,
  };
}

/** A realtime answer's `session`, when it is one; anything else is left out, so the API can grow. */
function realtimeSession(session: unknown): { session?: RealtimeSession } {
  if (!isRecord(session) || typeof session.model !== 'string') return {};
  const voice = typeof session.voice === 'string' ? session.voice : null;
  return { session: { model: session.model, voice } };
}

function invalid(why: string): TokenVendingError {
  return new TokenVendingError('invalid_response', `The token service answered with an unexpected body: ${why}.`, {
    status: 200,
  });
}

/** A plain object (not `null`, not an array), so its fields can be read. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The headers a request to one of the token's endpoints needs: `Authorization: Bearer <token>`,
 * and any header the service takes beside it (`Ocp-Apim-Subscription-Region` for Translator with a
 * multi-service or regional resource).
 *
 * @param token - A token from `getToken()` or {@link parseVendedToken}.
 * @param endpoint - The endpoint's name in `token.endpoints`, such as `text` or `voicesList`.
 * @returns Header names and values, ready for `fetch`.
 */
export function requestHeaders(token: VendedToken, endpoint: string): Record<string, string> {
  return { Authorization: `Bearer ${token.accessToken}`, ...token.headers[endpoint] };
}
