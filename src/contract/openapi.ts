/**
 * The OpenAPI 3.1 document of the public routes, built from the zod schemas the handlers encode
 * their answers with (`model.ts`) and from the error table (`http/problem.ts`). It takes no
 * configuration, so it can never hold a resource name, vault or tenant. `npm run build` writes it to
 * `dist/openapi.json` and `GET /api/openapi.json` serves the same text.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { PROBLEMS, type ProblemStatus } from '../http/problem.js';
import {
  cloudNameSchema,
  clientEndpointsSchema,
  correlationIdSchema,
  errorCodeSchema,
  healthSchema,
  PROBLEM_TYPE_BASE,
  problemSchema,
  RESOURCE_NAME,
  resourceKindSchema,
  resourceListSchema,
  resourceStatusSchema,
  resourceSummarySchema,
  serviceStatusSchema,
  vendedTokenSchema,
  type Problem,
  type ResourceList,
  type ServiceStatus,
  type VendedToken,
} from '../model.js';

type JsonSchema = z.core.JSONSchema.BaseSchema;

interface Reference {
  readonly $ref: string;
}

export interface MediaType {
  readonly schema: Reference;
  readonly examples?: Readonly<Record<string, { readonly summary: string; readonly value: unknown }>>;
}

export interface HeaderObject {
  readonly description: string;
  readonly required?: boolean;
  readonly schema: JsonSchema | Reference;
}

export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject | Reference>>;
  readonly content?: Readonly<Record<string, MediaType>>;
}

interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'header';
  readonly description: string;
  readonly required: boolean;
  readonly schema: JsonSchema | Reference;
}

export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly parameters: readonly (ParameterObject | Reference)[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly responses: Readonly<Record<string, ResponseObject | Reference>>;
}

export type PathItem = { readonly description?: string } & Partial<Record<'get' | 'post', Operation>>;

export interface OpenApiDocument {
  readonly openapi: string;
  readonly jsonSchemaDialect: string;
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, PathItem>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly responses: Readonly<Record<string, ResponseObject>>;
    readonly headers: Readonly<Record<string, HeaderObject>>;
    readonly parameters: Readonly<Record<string, ParameterObject>>;
    readonly securitySchemes: Readonly<Record<string, unknown>>;
  };
}

/** `info.version`: the package version (a test keeps the two equal). */
export const API_VERSION = '0.1.0';

const SCHEMAS = '#/components/schemas/';
const ref = (kind: 'schemas' | 'responses' | 'headers' | 'parameters', name: string): Reference => ({
  $ref: `#/components/${kind}/${name}`,
});

/**
 * What each problem status means, whether its body and headers carry `retryAfterSeconds` /
 * `Retry-After` (problem.ts sends them on 429 and 5xx when the error has a figure: every 429, 503
 * and 504 code has one, no 500 or 502 code has one today), and one realistic example.
 */
const PROBLEM_STATUSES: Readonly<
  Record<
    ProblemStatus,
    {
      readonly description: string;
      readonly retryAfter: 'required' | 'optional' | 'never';
      readonly example: { readonly code: ErrorCode; readonly detail: string; readonly retryAfterSeconds?: number };
    }
  >
> = {
  400: {
    description:
      '`bad_request`: a `Host` header that names no host, or a request target that is not a path. The local host answers this; in Azure the platform refuses such requests itself.',
    retryAfter: 'never',
    example: {
      code: 'bad_request',
      detail: 'The request is malformed: it needs a Host header naming a host (and port), and a path.',
    },
  },
  401: {
    description:
      'No valid Entra access token for this API: `missing_token` (no `Authorization: Bearer`), `invalid_token` (bad signature, issuer, audience, tenant or lifetime; the reason is in the log only). `WWW-Authenticate` says which.',
    retryAfter: 'never',
    example: {
      code: 'missing_token',
      detail:
        'Send an Entra ID access token for this API in the Authorization header: "Authorization: Bearer <token>".',
    },
  },
  403: {
    description:
      'A valid caller without any app role or delegated scope the resource allows, or (on `/api/status`) without an operator role; `detail` names them.',
    retryAfter: 'never',
    example: {
      code: 'forbidden',
      detail:
        'Your token does not grant access to "my-speech": it needs the app role Speech.Token. Ask an administrator to assign it, then sign in again.',
    },
  },
  404: {
    description:
      '`resource_not_found`: no resource with that name (said only after authentication). `route_not_found`: no such route (the local host; Azure answers an unknown route with an empty 404).',
    retryAfter: 'never',
    example: {
      code: 'resource_not_found',
      detail: 'There is no resource named "vision". GET /api/resources lists the ones you may request.',
    },
  },
  405: {
    description: 'The route does not answer this method; `Allow` lists the ones it does.',
    retryAfter: 'never',
    example: { code: 'method_not_allowed', detail: 'This route answers GET only, not POST.' },
  },
  429: {
    description:
      'The caller is over its per-minute allowance on this instance. Reuse the token until shortly before it expires; retry after `Retry-After` seconds.',
    retryAfter: 'required',
    example: {
      code: 'rate_limited',
      detail:
        'Too many token requests from this caller (limit 60 per minute). Reuse the token until shortly before expiresOn; retry after 30 s.',
      retryAfterSeconds: 30,
    },
  },
  500: {
    description: 'A bug. Report it with the correlation id.',
    retryAfter: 'optional',
    example: { code: 'internal_error', detail: 'An unexpected error occurred.' },
  },
  502: {
    description:
      "Key Vault or the resource's token service refused for a reason the operator must fix (a rejected or misplaced key, a missing secret, missing permissions, network rules); `code` names it and the log line has the fix.",
    retryAfter: 'optional',
    example: {
      code: 'key_rejected',
      detail: 'The token service rejected the key configured for this resource. The operator has been told.',
    },
  },
  503: {
    description:
      'Key Vault, the token service or Entra cannot be reached or is busy, or the configuration is invalid, and no still-valid token is cached. Transient: retry after `Retry-After` seconds.',
    retryAfter: 'required',
    example: {
      code: 'sts_unavailable',
      detail: 'The token service is busy. Retry shortly.',
      retryAfterSeconds: 5,
    },
  },
  504: {
    description: 'The token service did not answer in time and no still-valid token is cached.',
    retryAfter: 'required',
    example: {
      code: 'sts_timeout',
      detail: 'The token service did not answer in time. Retry shortly.',
      retryAfterSeconds: 5,
    },
  },
};

const PROBLEM_STATUS_LIST = Object.keys(PROBLEM_STATUSES).map(Number) as ProblemStatus[];

/** The codes `problem.ts` answers with this status, in `ERROR_CODES` order. */
export function codesOfStatus(status: ProblemStatus): [ErrorCode, ...ErrorCode[]] {
  const codes = ERROR_CODES.filter((code) => PROBLEMS[code].status === status);
  const [first, ...rest] = codes;
  if (first === undefined) throw new Error(`no error code has status ${status}`);
  return [first, ...rest];
}

const retryAfterSecondsSchema = z.number().int().min(0).meta({
  description: 'The same figure as the `Retry-After` header, which a page on another origin may not be able to read.',
});

/** The problem body of one status: its `status`, its codes, and `retryAfterSeconds` as that status has it. */
function problemSchemaOf(status: ProblemStatus) {
  const narrowed = problemSchema.extend({
    status: z.literal(status),
    code: errorCodeSchema.extract(codesOfStatus(status)),
  });
  const { description, retryAfter } = PROBLEM_STATUSES[status];
  const shaped =
    retryAfter === 'never'
      ? narrowed.omit({ retryAfterSeconds: true })
      : retryAfter === 'required'
        ? narrowed.extend({ retryAfterSeconds: retryAfterSecondsSchema })
        : narrowed;
  return shaped.meta({ description: `A ${status} problem. ${description}` });
}

// A registry of our own, so only these schemas become components and none can clash with an id
// another module gives zod's global registry. Descriptions come from `.meta()` in model.ts.
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  registry.add(cloudNameSchema, { id: 'CloudName' });
  registry.add(resourceKindSchema, { id: 'ResourceKind' });
  registry.add(clientEndpointsSchema, { id: 'ClientEndpoints' });
  registry.add(correlationIdSchema, { id: 'CorrelationId' });
  registry.add(errorCodeSchema, { id: 'ErrorCode' });
  registry.add(vendedTokenSchema, { id: 'VendedToken' });
  registry.add(resourceSummarySchema, { id: 'ResourceSummary' });
  registry.add(resourceListSchema, { id: 'ResourceList' });
  registry.add(healthSchema, { id: 'Health' });
  registry.add(resourceStatusSchema, { id: 'ResourceStatus' });
  registry.add(serviceStatusSchema, { id: 'ServiceStatus' });
  registry.add(problemSchema, { id: 'Problem' });
  for (const status of PROBLEM_STATUS_LIST) registry.add(problemSchemaOf(status), { id: `Problem${status}` });

  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => SCHEMAS + id,
  });
  if ('__shared' in schemas) throw new Error('a schema was emitted into shared $defs; give it an id');
  for (const schema of Object.values(schemas)) {
    // A fragment-only $id is not valid 2020-12, and OAS 3.1 sets the dialect for the whole document.
    delete schema.$id;
    delete schema.$schema;
  }
  return {
    ...schemas,
    OpenApiDocument: {
      type: 'object',
      description: 'This document: OpenAPI 3.1.',
      required: ['openapi', 'info', 'paths', 'components'],
      properties: {
        openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
        info: { type: 'object' },
        paths: { type: 'object' },
        components: { type: 'object' },
      },
    },
  };
}

const EXAMPLE_CORRELATION_ID = '4f1c2a9e-8d3b-4e6f-9a1c-2b3d4e5f6a7b';

const EXAMPLE_TOKEN: VendedToken = {
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
  },
  headers: {},
};

const EXAMPLE_MULTI_SERVICE_TOKEN: VendedToken = {
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
    text: 'https://api.cognitive.microsofttranslator.com',
  },
  headers: { text: { 'Ocp-Apim-Subscription-Region': 'eastus' } },
};

const EXAMPLE_CUSTOM_SUBDOMAIN_TOKEN: VendedToken = {
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
  },
};

const EXAMPLE_RESOURCES: ResourceList = {
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

const EXAMPLE_STATUS: ServiceStatus = {
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

function problemExample(status: ProblemStatus): Problem {
  const { code, detail, retryAfterSeconds } = PROBLEM_STATUSES[status].example;
  return {
    type: PROBLEM_TYPE_BASE + code,
    title: PROBLEMS[code].title,
    status,
    detail,
    code,
    correlationId: EXAMPLE_CORRELATION_ID,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

const RETRY_AFTER: HeaderObject = {
  description:
    "Seconds to wait before asking again, also in the body's `retryAfterSeconds` (a page on another origin may not be able to read this header).",
  schema: { type: 'integer', minimum: 0 },
};

const HEADERS: Record<string, HeaderObject> = {
  CorrelationId: {
    description:
      "The request's correlation id, also in a problem body's `correlationId`. In Azure a page on another origin cannot read it (the platform's CORS does not expose headers).",
    required: true,
    schema: ref('schemas', 'CorrelationId'),
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

const correlationHeader = { 'X-Correlation-Id': ref('headers', 'CorrelationId') };

function problemResponseOf(status: ProblemStatus): ResponseObject {
  const { description, retryAfter, example } = PROBLEM_STATUSES[status];
  const retryAfterHeader: HeaderObject = { ...RETRY_AFTER, required: retryAfter === 'required' };
  return {
    description,
    headers: {
      ...correlationHeader,
      ...(status === 401 || status === 403 ? { 'WWW-Authenticate': ref('headers', 'WwwAuthenticate') } : {}),
      ...(status === 405 ? { Allow: ref('headers', 'Allow') } : {}),
      ...(retryAfter === 'never' ? {} : { 'Retry-After': retryAfterHeader }),
    },
    content: {
      'application/problem+json': {
        schema: ref('schemas', `Problem${status}`),
        examples: { [example.code]: { summary: PROBLEMS[example.code].title, value: problemExample(status) } },
      },
    },
  };
}

function problems(...statuses: ProblemStatus[]): Record<string, Reference> {
  return Object.fromEntries(statuses.map((status) => [String(status), ref('responses', `Problem${status}`)]));
}

function json(description: string, schema: string, examples: MediaType['examples']): ResponseObject {
  return {
    description,
    headers: correlationHeader,
    content: { 'application/json': { schema: ref('schemas', schema), ...(examples ? { examples } : {}) } },
  };
}

const BEARER = [{ bearer: [] }];
const ANONYMOUS: never[] = [];

function tokenOperation(method: 'get' | 'post'): Operation {
  return {
    operationId: method === 'get' ? 'getToken' : 'postToken',
    summary: 'A short-lived token for an Azure AI resource',
    description:
      "Authenticates the caller (Entra access token), checks that it holds one of the resource's app roles or delegated scopes, and answers the resource's current token (one cached token per resource, replaced about 2 minutes before expiry) with the region, cloud and service endpoints to use it with. GET and POST answer the same; POST takes no body. Never cached (`Cache-Control: no-store`).",
    tags: ['tokens'],
    parameters: [ref('parameters', 'Resource'), ref('parameters', 'CorrelationIdRequest')],
    security: BEARER,
    responses: {
      200: json('The token, and how to use it.', 'VendedToken', {
        regional: { summary: 'A regional Speech resource', value: EXAMPLE_TOKEN },
        multiService: {
          summary: 'A multi-service resource: Speech and Translator, and the header Translator needs',
          value: EXAMPLE_MULTI_SERVICE_TOKEN,
        },
        customSubdomain: {
          summary: 'A Speech resource behind a private endpoint: `region` is null, every service under its subdomain',
          value: EXAMPLE_CUSTOM_SUBDOMAIN_TOKEN,
        },
      }),
      ...problems(401, 403, 404, 429, 500, 502, 503, 504),
    },
  };
}

const BEARER_DESCRIPTION = [
  'An Entra ID access token for this API, from the tenant the service accepts, with the API as audience (its client ID, or its App ID URI `api://<api>`).',
  'Apps that sign users in request the delegated scope `api://<api>/Tokens.Request` (it arrives in the `scp` claim); daemon apps are granted an app role such as `Speech.Token` as an application permission and request `api://<api>/.default` (it arrives in `roles`).',
  'Each resource names the roles and scopes that may use it (`allowedRoles`, `allowedScopes` in the service configuration), so this document does not list them; `GET /api/resources` shows what a caller may request.',
].join(' ');

function buildDocument(): OpenApiDocument {
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'AI token vending',
      version: API_VERSION,
      description: [
        'Short-lived Azure AI services tokens (Speech, Translator, multi-service) for Entra-authenticated apps, so no resource key ever ships in an app.',
        'Errors are `application/problem+json` with a stable `code` and a `correlationId`; 429 and 503/504 bodies also carry `retryAfterSeconds`.',
        'Every answer carries `X-Correlation-Id`.',
      ].join(' '),
    },
    tags: [
      { name: 'tokens', description: 'Tokens and the resources a caller may request them for.' },
      { name: 'service', description: 'Liveness and this document.' },
      { name: 'operations', description: 'For operators: what an instance knows about each resource.' },
    ],
    paths: {
      '/api/token/{resource}': { get: tokenOperation('get'), post: tokenOperation('post') },
      '/api/resources': {
        get: {
          operationId: 'listResources',
          summary: 'The resources this caller may request tokens for',
          description: 'Names, kinds, clouds, regions and endpoints; nothing secret (no key, vault or secret name).',
          tags: ['tokens'],
          parameters: [ref('parameters', 'CorrelationIdRequest')],
          security: BEARER,
          responses: {
            200: json('The resources, in configuration order.', 'ResourceList', {
              two: { summary: 'A Speech and a global Translator resource', value: EXAMPLE_RESOURCES },
            }),
            ...problems(401, 500, 503),
          },
        },
      },
      '/api/health': {
        get: {
          operationId: 'getHealth',
          summary: 'Liveness',
          description:
            'Anonymous. Reveals nothing about configuration or secrets, and answers even when the configuration is invalid.',
          tags: ['service'],
          parameters: [ref('parameters', 'CorrelationIdRequest')],
          security: ANONYMOUS,
          responses: {
            200: json('Alive.', 'Health', { ok: { summary: 'Alive', value: { status: 'ok' } } }),
            ...problems(500),
          },
        },
      },
      '/api/status': {
        get: {
          operationId: 'getStatus',
          summary: "This instance's view of each resource, for operators",
          description:
            "Needs an Entra access token whose `roles` claim holds one of the operator roles (`OPERATOR_ROLES`, default `TokenVending.Operator`); anyone else gets 403. Per resource: `ok`, `degraded` (refreshes fail, the cached token is still served) or `failing` (no valid token left), the cached token's expiry, the last refresh and the last error, the name and age of the key in use. Each instance answers for its own cache. Never a key, a token or a caller identity.",
          tags: ['operations'],
          parameters: [ref('parameters', 'CorrelationIdRequest')],
          security: BEARER,
          responses: {
            200: json('What this instance knows.', 'ServiceStatus', {
              twoResources: {
                summary: 'One resource ok, one serving its cached token while refreshes fail',
                value: EXAMPLE_STATUS,
              },
            }),
            ...problems(401, 403, 500, 503),
          },
        },
      },
      '/api/openapi.json': {
        description:
          'Any method other than GET answers 405 `method_not_allowed` with `Allow: GET` (`#/components/responses/Problem405`).',
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          description:
            'Anonymous. Generated from the schemas the service answers with; holds no configuration. `Cache-Control: no-cache` with an `ETag`: revalidate with `If-None-Match` and get 304 while it is unchanged.',
          tags: ['service'],
          parameters: [ref('parameters', 'IfNoneMatch'), ref('parameters', 'CorrelationIdRequest')],
          security: ANONYMOUS,
          responses: {
            200: {
              description: 'The OpenAPI 3.1 document.',
              headers: { ...correlationHeader, ETag: ref('headers', 'ETag') },
              content: { 'application/json': { schema: ref('schemas', 'OpenApiDocument') } },
            },
            304: {
              description: 'Unchanged since the `If-None-Match` ETag.',
              headers: { ...correlationHeader, ETag: ref('headers', 'ETag') },
            },
            ...problems(500),
          },
        },
      },
    },
    components: {
      schemas: componentSchemas(),
      responses: Object.fromEntries(
        PROBLEM_STATUS_LIST.map((status) => [`Problem${status}`, problemResponseOf(status)]),
      ),
      headers: HEADERS,
      parameters: {
        Resource: {
          name: 'resource',
          in: 'path',
          description: 'The resource name, as configured (`GET /api/resources` lists the ones this caller may use).',
          required: true,
          schema: { type: 'string', pattern: RESOURCE_NAME.source },
        },
        CorrelationIdRequest: {
          name: 'X-Correlation-Id',
          in: 'header',
          description:
            "Optional: an id of yours for this request, echoed in the answer and the service's log. Anything not of the documented shape is replaced by one the service makes.",
          required: false,
          schema: ref('schemas', 'CorrelationId'),
        },
        IfNoneMatch: {
          name: 'If-None-Match',
          in: 'header',
          description: 'The ETag of the copy you hold: 304 while it is current.',
          required: false,
          schema: { type: 'string' },
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: BEARER_DESCRIPTION },
      },
    },
  };
}

let document: OpenApiDocument | undefined;
let text: string | undefined;

/**
 * The document, built on first use and kept (a few milliseconds, so never at start-up, where it
 * would slow every cold start of the token route). Shared: do not mutate it.
 */
export function openApiDocument(): OpenApiDocument {
  document ??= buildDocument();
  return document;
}

/** The document as served and as `npm run build` writes it: 2-space JSON and a final newline. */
export function openApiText(): string {
  text ??= `${JSON.stringify(openApiDocument(), null, 2)}\n`;
  return text;
}
