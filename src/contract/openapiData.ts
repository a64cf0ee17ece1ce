/**
 * The OpenAPI document's data: what each problem status means in general, realistic examples, the
 * shared headers and the security scheme's prose. The builder (`openapi.ts`) adds everything that
 * comes from the zod schemas (`answers.ts`) and the error catalog (`errors/catalog.ts`).
 */
import type { ResourceList, ServiceStatus, VendedToken } from './answers.js';
import type { HeaderObject } from './openapiTypes.js';

/** `info.version`: the package version (a test keeps the two equal). */
export const API_VERSION = '0.1.0';

/**
 * What a problem status means in general, and the detail of its example; the codes with that
 * status, each with its meaning and what to do, come from the catalog. A status without an entry
 * gets a plain description and its first code's meaning as the example.
 */
export const PROBLEM_STATUS_TEXT: Readonly<
  Record<number, { readonly description: string; readonly example?: string }>
> = {
  400: {
    description: 'A malformed request.',
    example: 'The request is malformed: it needs a Host header naming a host (and port), and a path.',
  },
  401: {
    description: 'No valid Entra access token for this API. `WWW-Authenticate` says which.',
    example: 'Send an Entra ID access token for this API in the Authorization header: "Authorization: Bearer <token>".',
  },
  403: {
    description: 'A valid caller without what the resource (or route) requires; `detail` names it.',
    example:
      'Your token does not grant access to "my-speech": it needs the app role Speech.Token. Ask an administrator to assign it, then sign in again.',
  },
  404: {
    description: 'Nothing by that name.',
    example: 'There is no resource named "vision". GET /api/resources lists the ones you may request.',
  },
  405: { description: 'The route does not answer this method.', example: 'This route answers GET only, not POST.' },
  429: {
    description: 'The caller is over an allowance. Retry after `Retry-After` seconds.',
    example:
      'Too many token requests from this caller (limit 60 per minute). Reuse the token until shortly before expiresOn; retry after 30 s.',
  },
  500: { description: 'A bug. Report it with the correlation id.', example: 'An unexpected error occurred.' },
  502: {
    description:
      "An upstream (Key Vault, the resource's token service) refused for a reason the operator must fix, and no still-valid credential is cached; `code` names it and the operator's log line has the fix.",
    example: 'The token service rejected the key configured for this resource. The operator has been told.',
  },
  503: {
    description:
      'An upstream cannot be reached or is busy, or the configuration is invalid, and no still-valid credential is cached. Retry after `Retry-After` seconds.',
    example: 'The token service is busy. Retry shortly.',
  },
  504: {
    description: 'An upstream did not answer in time and no still-valid credential is cached.',
    example: 'The token service did not answer in time. Retry shortly.',
  },
};

/** The code each status's example shows, when not its first code. */
export const PROBLEM_EXAMPLE_CODES: Readonly<Record<number, string>> = { 502: 'key_rejected', 503: 'sts_unavailable' };

/** `retryAfterSeconds` of the examples of statuses that always carry one. */
export const EXAMPLE_RETRY_AFTER_SECONDS: Readonly<Record<number, number>> = { 429: 30, 503: 5, 504: 5 };

export const EXAMPLE_CORRELATION_ID = '4f1c2a9e-8d3b-4e6f-9a1c-2b3d4e5f6a7b';

export const EXAMPLE_TOKEN: VendedToken = {
  accessToken: 'eyJhbGciOi…',
  tokenType: 'Bearer',
  expiresOn: '2026-11-22T10:10:00.000Z',
  expiresInSeconds: 599,
  resource: 'my-speech',
  kind: 'speech',
  cloud: 'AzureCloud',
  region: 'westeurope',
  endpoints: {
    stt: 'wss://westeurope.stt.speech.microsoft.com',
    tts: 'wss://westeurope.tts.speech.microsoft.com',
    sttRest: 'https://westeurope.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1',
    ttsRest: 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1',
    voicesList: 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list',
    avatarRelay: 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1',
  },
  headers: {},
};

export const EXAMPLE_MULTI_SERVICE_TOKEN: VendedToken = {
  ...EXAMPLE_TOKEN,
  resource: 'my-ai-services',
  kind: 'cognitive',
  region: 'eastus',
  endpoints: {
    base: 'https://eastus.api.cognitive.microsoft.com',
    stt: 'wss://eastus.stt.speech.microsoft.com',
    tts: 'wss://eastus.tts.speech.microsoft.com',
    sttRest: 'https://eastus.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1',
    ttsRest: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/v1',
    voicesList: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/voices/list',
    avatarRelay: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1',
    text: 'https://api.cognitive.microsofttranslator.com',
  },
  headers: { text: { 'Ocp-Apim-Subscription-Region': 'eastus' } },
};

export const EXAMPLE_CUSTOM_SUBDOMAIN_TOKEN: VendedToken = {
  ...EXAMPLE_TOKEN,
  resource: 'my-speech-private',
  region: null,
  endpoints: {
    base: 'https://my-speech-private.cognitiveservices.azure.com',
    stt: 'wss://my-speech-private.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
    tts: 'wss://my-speech-private.cognitiveservices.azure.com/tts/cognitiveservices/websocket/v1',
    sttRest:
      'https://my-speech-private.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
    ttsRest: 'https://my-speech-private.cognitiveservices.azure.com/tts/cognitiveservices/v1',
    voicesList: 'https://my-speech-private.cognitiveservices.azure.com/tts/cognitiveservices/voices/list',
    avatarRelay: 'https://my-speech-private.cognitiveservices.azure.com/tts/cognitiveservices/avatar/relay/token/v1',
  },
};

export const EXAMPLE_RESOURCES: ResourceList = {
  resources: [
    {
      name: EXAMPLE_TOKEN.resource,
      kind: EXAMPLE_TOKEN.kind,
      cloud: EXAMPLE_TOKEN.cloud,
      region: EXAMPLE_TOKEN.region,
      endpoints: EXAMPLE_TOKEN.endpoints,
      headers: {},
    },
    {
      name: 'my-translator',
      kind: 'translator',
      cloud: 'AzureCloud',
      region: 'global',
      endpoints: { text: 'https://api.cognitive.microsofttranslator.com' },
      headers: {},
    },
  ],
};

export const EXAMPLE_STATUS: ServiceStatus = {
  instance: { id: '3d9f0c6e-2b1a-4f5e-8c7d-6a5b4c3d2e1f', startedAt: '2026-11-22T09:00:00.000Z', version: API_VERSION },
  time: '2026-11-22T10:02:00.000Z',
  resources: [
    {
      name: 'my-speech',
      state: 'ok',
      expiresOn: '2026-11-22T10:10:00.000Z',
      lastRefreshAt: '2026-11-22T10:00:00.000Z',
      lastError: null,
      key: { keyName: 'key1', createdOn: '2026-11-01T08:00:00.000Z', ageSeconds: 1821720 },
      nextRotationAt: null,
    },
    {
      name: 'my-translator',
      state: 'degraded',
      expiresOn: '2026-11-22T10:03:30.000Z',
      lastRefreshAt: '2026-11-22T09:53:30.000Z',
      lastError: { code: 'sts_unavailable', at: '2026-11-22T10:01:45.000Z' },
      key: { keyName: null, createdOn: '2026-10-15T12:00:00.000Z', ageSeconds: 3276120 },
      nextRotationAt: null,
    },
  ],
};

export const RETRY_AFTER: HeaderObject = {
  description:
    "Seconds to wait before asking again, also in the body's `retryAfterSeconds` (a page on another origin may not be able to read this header).",
  schema: { type: 'integer', minimum: 0 },
};

export const HEADERS: Record<string, HeaderObject> = {
  CorrelationId: {
    description:
      "The request's correlation id, also in a problem body's `correlationId`. In Azure a page on another origin cannot read it (the platform's CORS does not expose headers).",
    required: true,
    schema: { $ref: '#/components/schemas/CorrelationId' },
  },
  WwwAuthenticate: {
    description:
      'The Bearer challenge (RFC 6750): `Bearer` without a token, `Bearer error="invalid_token", ...` for a bad one, `Bearer error="insufficient_scope"` on 403.',
    required: true,
    schema: { type: 'string', pattern: '^Bearer' },
  },
  Allow: {
    description: 'The methods the route answers.',
    required: true,
    schema: { type: 'string', minLength: 1 },
  },
  ETag: {
    description: 'A strong validator from the SHA-256 of the document; send it back as `If-None-Match`.',
    required: true,
    schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]+"$' },
  },
};

export const BEARER_DESCRIPTION = [
  'An Entra ID access token for this API, from the tenant the service accepts, with the API as audience (its client ID, or its App ID URI `api://<api>`).',
  'Apps that sign users in request the delegated scope `api://<api>/Tokens.Request` (it arrives in the `scp` claim); daemon apps are granted an app role such as `Speech.Token` as an application permission and request `api://<api>/.default` (it arrives in `roles`).',
  'Each resource names the roles and scopes that may use it (`allowedRoles`, `allowedScopes` in the service configuration), so this document does not list them; `GET /api/resources` shows what a caller may request.',
].join(' ');
