/**
 * The OpenAPI 3.1 document of the public routes, built from the zod schemas the handlers answer
 * with (`answers.ts`), the error catalog (`errors/catalog.ts`) and the document's own prose and
 * examples (`openapiData.ts`). It takes no configuration, so it can never hold a resource name,
 * vault or tenant. `npm run build` writes it to `dist/bundle/openapi.json` and
 * `GET /api/openapi.json` serves the same text.
 */
import { z } from 'zod';
import { ERROR_CATALOG, type ErrorCatalog } from '../errors/catalog.js';
import { PROBLEM_TYPE_BASE } from '../http/problem.js';
import { RESOURCE_NAME } from '../model.js';
import {
  cloudNameSchema,
  clientEndpointsSchema,
  correlationIdSchema,
  errorCodeSchema,
  healthSchema,
  problemSchema,
  resourceKindSchema,
  resourceListSchema,
  resourceStatusSchema,
  resourceSummarySchema,
  serviceStatusSchema,
  vendedTokenSchema,
} from './answers.js';
import {
  API_VERSION,
  BEARER_DESCRIPTION,
  EXAMPLE_CORRELATION_ID,
  EXAMPLE_CUSTOM_SUBDOMAIN_TOKEN,
  EXAMPLE_MULTI_SERVICE_TOKEN,
  EXAMPLE_RESOURCES,
  EXAMPLE_RETRY_AFTER_SECONDS,
  EXAMPLE_STATUS,
  EXAMPLE_TOKEN,
  HEADERS,
  PROBLEM_EXAMPLE_CODES,
  PROBLEM_STATUS_TEXT,
  RETRY_AFTER,
} from './openapiData.js';

export { API_VERSION } from './openapiData.js';

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

const SCHEMAS = '#/components/schemas/';
const ref = (kind: 'schemas' | 'responses' | 'headers' | 'parameters', name: string): Reference => ({
  $ref: `#/components/${kind}/${name}`,
});

/**
 * Whether a status's problems carry `retryAfterSeconds` / `Retry-After` (`http/problem.ts` sends
 * them on 429 and 5xx when the error has a figure): always for 429, 503 and 504, sometimes for
 * other 5xx, never below.
 */
function retryAfterOf(status: number): 'required' | 'optional' | 'never' {
  if (status === 429 || status === 503 || status === 504) return 'required';
  return status >= 500 ? 'optional' : 'never';
}

/** The catalog's statuses, in order. */
function statusesOf(catalog: ErrorCatalog): number[] {
  return [...new Set(Object.values(catalog).map(({ status }) => status))].sort((a, b) => a - b);
}

/** The codes the catalog gives this status, in catalog order. */
export function codesOfStatus(status: number, catalog: ErrorCatalog = ERROR_CATALOG): [string, ...string[]] {
  const codes = Object.keys(catalog).filter((code) => catalog[code]?.status === status);
  const [first, ...rest] = codes;
  if (first === undefined) throw new Error(`no error code has status ${status}`);
  return [first, ...rest];
}

/** A status's description: what it means in general, then each of its codes with what to do. */
function statusDescription(status: number, catalog: ErrorCatalog): string {
  const general = PROBLEM_STATUS_TEXT[status]?.description ?? `HTTP ${status}.`;
  const codes = codesOfStatus(status, catalog).map((code) => {
    const { meaning, action, retryable } = catalog[code] ?? { meaning: '', action: '', retryable: false };
    return `- \`${code}\`: ${meaning} ${action}${retryable ? ' Worth retrying.' : ''}`;
  });
  return `${general}\n\n${codes.join('\n')}`;
}

const retryAfterSecondsSchema = z.number().int().min(0).meta({
  description: 'The same figure as the `Retry-After` header, which a page on another origin may not be able to read.',
});

// A registry of our own, so only these schemas become components and none can clash with an id
// another module gives zod's global registry. Descriptions come from `.meta()` in answers.ts.
function componentSchemas(catalog: ErrorCatalog): Record<string, JsonSchema> {
  const codes = Object.keys(catalog) as [string, ...string[]];
  // The shipped catalog is the schema the answers' types come from; another one is a test's.
  const codeSchema: z.ZodEnum<Readonly<Record<string, string>>> =
    catalog === ERROR_CATALOG ? errorCodeSchema : z.enum(codes).meta({ description: errorCodeSchema.description });
  const problem = problemSchema.extend({ code: codeSchema }).meta({ description: problemSchema.description });
  const registry = z.registry<{ id: string }>();
  registry.add(cloudNameSchema, { id: 'CloudName' });
  registry.add(resourceKindSchema, { id: 'ResourceKind' });
  registry.add(clientEndpointsSchema, { id: 'ClientEndpoints' });
  registry.add(correlationIdSchema, { id: 'CorrelationId' });
  registry.add(codeSchema, { id: 'ErrorCode' });
  registry.add(vendedTokenSchema, { id: 'VendedToken' });
  registry.add(resourceSummarySchema, { id: 'ResourceSummary' });
  registry.add(resourceListSchema, { id: 'ResourceList' });
  registry.add(healthSchema, { id: 'Health' });
  registry.add(resourceStatusSchema, { id: 'ResourceStatus' });
  registry.add(serviceStatusSchema, { id: 'ServiceStatus' });
  registry.add(problem, { id: 'Problem' });
  for (const status of statusesOf(catalog)) {
    const narrowed = problem.extend({
      status: z.literal(status),
      code: codeSchema.extract(codesOfStatus(status, catalog)),
    });
    const retryAfter = retryAfterOf(status);
    const shaped =
      retryAfter === 'never'
        ? narrowed.omit({ retryAfterSeconds: true })
        : retryAfter === 'required'
          ? narrowed.extend({ retryAfterSeconds: retryAfterSecondsSchema })
          : narrowed;
    registry.add(shaped.meta({ description: `A ${status} problem. ${statusDescription(status, catalog)}` }), {
      id: `Problem${status}`,
    });
  }

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

function problemResponseOf(status: number, catalog: ErrorCatalog): ResponseObject {
  const retryAfter = retryAfterOf(status);
  const code = PROBLEM_EXAMPLE_CODES[status] ?? codesOfStatus(status, catalog)[0];
  const entry = catalog[code];
  const retryAfterSeconds = EXAMPLE_RETRY_AFTER_SECONDS[status] ?? (retryAfter === 'required' ? 5 : undefined);
  const example = {
    type: PROBLEM_TYPE_BASE + code,
    title: entry?.title ?? '',
    status,
    detail: PROBLEM_STATUS_TEXT[status]?.example ?? entry?.meaning ?? '',
    code,
    correlationId: EXAMPLE_CORRELATION_ID,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
  return {
    description: statusDescription(status, catalog),
    headers: {
      ...correlationHeader,
      ...(status === 401 || status === 403 ? { 'WWW-Authenticate': ref('headers', 'WwwAuthenticate') } : {}),
      ...(status === 405 ? { Allow: ref('headers', 'Allow') } : {}),
      ...(retryAfter === 'never' ? {} : { 'Retry-After': { ...RETRY_AFTER, required: retryAfter === 'required' } }),
    },
    content: {
      'application/problem+json': {
        schema: ref('schemas', `Problem${status}`),
        examples: { [code]: { summary: example.title, value: example } },
      },
    },
  };
}

const correlationHeader = { 'X-Correlation-Id': ref('headers', 'CorrelationId') };

function problems(...statuses: number[]): Record<string, Reference> {
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

/** The document for a catalog (the shipped one, or a test's with a code added). */
export function buildOpenApiDocument(catalog: ErrorCatalog = ERROR_CATALOG): OpenApiDocument {
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
      schemas: componentSchemas(catalog),
      responses: Object.fromEntries(
        statusesOf(catalog).map((status) => [`Problem${status}`, problemResponseOf(status, catalog)]),
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
  document ??= buildOpenApiDocument();
  return document;
}

/** The document as served and as `npm run build` writes it: 2-space JSON and a final newline. */
export function openApiText(): string {
  text ??= `${JSON.stringify(openApiDocument(), null, 2)}\n`;
  return text;
}
