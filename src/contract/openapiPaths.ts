/**
 * The routes of the OpenAPI document: each operation, its parameters and which answers it has.
 * The schemas and problem responses they refer to are built in `openapi.ts`.
 */
import { RESOURCE_NAME } from '../model.js';
import {
  EXAMPLE_CUSTOM_SUBDOMAIN_TOKEN,
  EXAMPLE_MULTI_SERVICE_TOKEN,
  EXAMPLE_RESOURCES,
  EXAMPLE_STATUS,
  EXAMPLE_TOKEN,
} from './openapiData.js';
import {
  ref,
  type MediaType,
  type Operation,
  type ParameterObject,
  type PathItem,
  type Reference,
  type ResponseObject,
} from './openapiTypes.js';

export const correlationHeader = { 'X-Correlation-Id': ref('headers', 'CorrelationId') };

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
      "Authenticates the caller (Entra access token), checks that it holds one of the resource's app roles or delegated scopes (and, when `AUTH_ALLOWED_CLIENT_APPS` is set, that one of those client applications obtained the token), and answers the resource's current token (one cached token per resource, replaced about 2 minutes before expiry) with the region, cloud and service endpoints to use it with. GET and POST answer the same; POST takes no body. Never cached (`Cache-Control: no-store`).",
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
/** The document's paths. */
export const PATHS: Readonly<Record<string, PathItem>> = {
  '/api/token/{resource}': { get: tokenOperation('get'), post: tokenOperation('post') },
  '/api/resources': {
    get: {
      operationId: 'listResources',
      summary: 'The resources this caller may request tokens for',
      description:
        'Names, kinds, clouds, regions and endpoints; nothing secret (no key, vault or secret name). 403 for a token another client application obtained than `AUTH_ALLOWED_CLIENT_APPS` lists, when it is set.',
      tags: ['tokens'],
      parameters: [ref('parameters', 'CorrelationIdRequest')],
      security: BEARER,
      responses: {
        200: json('The resources, in configuration order.', 'ResourceList', {
          two: { summary: 'A Speech and a global Translator resource', value: EXAMPLE_RESOURCES },
        }),
        ...problems(401, 403, 500, 503),
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
        "Needs an Entra access token whose `roles` claim holds one of the operator roles (`OPERATOR_ROLES`, default `TokenVending.Operator`), obtained by a client application `AUTH_ALLOWED_CLIENT_APPS` allows; anyone else gets 403. Per resource: `ok`, `degraded` (refreshes fail, the cached token is still served) or `failing` (no valid token left), the cached token's expiry, the last refresh and the last error, the name and age of the key in use. Each instance answers for its own cache. Never a key, a token or a caller identity.",
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
};

/** The parameters the operations share. */
export const PARAMETERS: Readonly<Record<string, ParameterObject>> = {
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
};
