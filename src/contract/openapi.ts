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
  EXAMPLE_RETRY_AFTER_SECONDS,
  HEADERS,
  PROBLEM_EXAMPLE_CODES,
  PROBLEM_STATUS_TEXT,
  RETRY_AFTER,
} from './openapiData.js';

import { correlationHeader, PARAMETERS, PATHS } from './openapiPaths.js';
import { ref, type JsonSchema, type OpenApiDocument, type ResponseObject } from './openapiTypes.js';

export { API_VERSION } from './openapiData.js';
export type { HeaderObject, MediaType, OpenApiDocument, Operation, ResponseObject } from './openapiTypes.js';

const SCHEMAS = '#/components/schemas/';

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
    paths: PATHS,
    components: {
      schemas: componentSchemas(catalog),
      responses: Object.fromEntries(
        statusesOf(catalog).map((status) => [`Problem${status}`, problemResponseOf(status, catalog)]),
      ),
      headers: HEADERS,
      parameters: PARAMETERS,
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
