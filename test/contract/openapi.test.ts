import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC } from '@hyperjump/json-schema/experimental';
import { validate } from '@hyperjump/json-schema/openapi-3-1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/repository.js';
import {
  buildOpenApiDocument,
  codesOfStatus,
  openApiDocument,
  openApiText,
  type MediaType,
  type Operation,
  type ResponseObject,
} from '../../src/contract/openapi.js';
import { ERROR_CODES } from '../../src/errors/serviceError.js';
import { createRoutes } from '../../src/functions/routes.js';
import { createServices } from '../../src/composition.js';
import { errorsTable, withErrorsTable } from '../../src/contract/errorsTable.js';
import { ERROR_CATALOG, type ErrorCatalog } from '../../src/errors/catalog.js';
import { problemResponse } from '../../src/http/problem.js';
import { contractChecker, type WireAnswer } from '../support/contract.js';
import { startHarness, type Harness } from '../support/harness.js';

const root = repositoryRoot();
const document = openApiDocument();
const checker = contractChecker();
const OAS_31_WITH_SCHEMAS = 'https://spec.openapis.org/oas/3.1/schema-base';

/** Every operation of the document with its path and method. */
function operations(): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    (['get', 'post'] as const).flatMap((method) => {
      const operation = item[method];
      return operation === undefined ? [] : [{ path, method, operation }];
    }),
  );
}

function responsesOf(operation: Operation): [string, ResponseObject][] {
  return Object.entries(operation.responses).map(([status, response]) => [status, checker.resolve(response)]);
}

/** The document against the OAS 3.1 meta-schema whose Schema Objects are checked as JSON Schema 2020-12. */
async function metaSchemaCheck(value: unknown) {
  const check = await validate(OAS_31_WITH_SCHEMAS);
  return check(value as Parameters<typeof check>[0], BASIC);
}

const problemStatuses = [...new Set(Object.values(ERROR_CATALOG).map(({ status }) => status))].sort();

describe('openapi.json', () => {
  it('is valid OpenAPI 3.1, schemas included (the OAS 3.1 schema-base meta-schema)', async () => {
    const output = await metaSchemaCheck(JSON.parse(openApiText()));
    expect(output.valid ? [] : output.errors).toEqual([]);
    expect(output.valid).toBe(true);
  });

  it('the meta-schema check looks inside the schemas: a misspelt type fails it', async () => {
    const broken = JSON.parse(openApiText()) as { components: { schemas: Record<string, { type: string }> } };
    broken.components.schemas.Health!.type = 'objet';
    expect((await metaSchemaCheck(broken)).valid).toBe(false);
  });

  it('every component schema compiles as JSON Schema 2020-12 in ajv strict mode', () => {
    expect(() => checker.compileAll()).not.toThrow();
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['VendedToken', 'ResourceList', 'Health', 'Problem', 'Problem401', 'Problem503']),
    );
  });

  it('every example is valid against its own schema', () => {
    const media: MediaType[] = [
      ...operations().flatMap(({ operation }) =>
        responsesOf(operation).flatMap(([, response]) => Object.values(response.content ?? {})),
      ),
      ...Object.values(document.components.responses).flatMap((response) => Object.values(response.content ?? {})),
    ];
    let checked = 0;
    for (const { schema, examples } of media) {
      const check = checker.schema(schema);
      for (const [name, example] of Object.entries(examples ?? {})) {
        expect(check(example.value), `${schema.$ref} example ${name}: ${JSON.stringify(check.errors)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(problemStatuses.length + 4);
  });

  it('lists every route and method of the route table, and nothing else', () => {
    const table = createRoutes(createServices({})).map((route) => ({
      path: `/api/${route.route}`,
      methods: route.methods.map((method) => method.toLowerCase()).sort(),
    }));
    const documented = Object.keys(document.paths).map((path) => ({
      path,
      methods: operations()
        .filter((operation) => operation.path === path)
        .map(({ method }) => method)
        .sort(),
    }));
    expect(documented).toEqual(table);
    expect(operations().map(({ operation }) => operation.operationId)).toEqual([
      'getToken',
      'postToken',
      'listResources',
      'getHealth',
      'getStatus',
      'getOpenApiDocument',
    ]);
  });

  it('asks for the Entra bearer token where the service does, and for nothing on health and the document', () => {
    expect(document.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: expect.stringContaining('api://<api>/Tokens.Request'),
    });
    const security = Object.fromEntries(
      operations().map(({ operation }) => [operation.operationId, operation.security]),
    );
    expect(security).toEqual({
      getToken: [{ bearer: [] }],
      postToken: [{ bearer: [] }],
      listResources: [{ bearer: [] }],
      getHealth: [],
      getStatus: [{ bearer: [] }],
      getOpenApiDocument: [],
    });
  });

  it('gives each problem status exactly the codes problem.ts answers with it', () => {
    const enumOf = (name: string) =>
      (document.components.schemas[name]?.properties?.code as { enum?: unknown[] } | undefined)?.enum;
    expect(Object.keys(document.components.responses).sort()).toEqual(problemStatuses.map((s) => `Problem${s}`));
    for (const status of problemStatuses) {
      const codes = ERROR_CODES.filter((code) => ERROR_CATALOG[code].status === status);
      expect(enumOf(`Problem${status}`), String(status)).toEqual(codes);
      expect(codesOfStatus(status)).toEqual(codes);
    }
    expect(problemStatuses.flatMap((status) => enumOf(`Problem${status}`) ?? []).sort()).toEqual(
      [...ERROR_CODES].sort(),
    );
    expect(document.components.schemas.ErrorCode?.enum).toEqual([...ERROR_CODES]);
  });

  it('has the statuses and codes of the errors table in docs/api.md', () => {
    const doc = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Errors\n'));
    const rows = [...section.matchAll(/^\| (\d{3}) \| ([^|]+) \|/gm)].flatMap(([, status, codes]) =>
      [...(codes ?? '').matchAll(/`(\w+)`/g)].map(([, code]) => `${status} ${code}`),
    );
    const fromCode = ERROR_CODES.map((code) => `${ERROR_CATALOG[code].status} ${code}`);
    expect(rows.sort()).toEqual(fromCode.sort());
    // The table is the catalog's, word for word: `npm run docs:errors` rewrites it.
    expect(withErrorsTable(doc)).toBe(doc);
  });

  it('documents X-Correlation-Id on every answer, and Retry-After where the service sends it', () => {
    for (const { operation } of operations())
      for (const [status, response] of responsesOf(operation))
        expect(Object.keys(response.headers ?? {}), `${operation.operationId} ${status}`).toContain('X-Correlation-Id');
    const retryAfter = (status: number) =>
      checker.resolve(document.components.responses[`Problem${status}`]?.headers?.['Retry-After'] ?? { $ref: '' });
    for (const status of [429, 503, 504] as const) expect(retryAfter(status).required, String(status)).toBe(true);
    expect(document.components.responses.Problem401?.headers).not.toHaveProperty('Retry-After');
    expect(Object.keys(document.components.responses.Problem405?.headers ?? {})).toContain('Allow');
  });

  it('is the file npm run build wrote, and carries the package version', () => {
    expect(readFileSync(join(root, 'dist', 'bundle', 'openapi.json'), 'utf8')).toBe(openApiText());
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(document.info.version).toBe(pkg.version);
    expect(document.openapi).toMatch(/^3\.1\./);
  });
});

describe('the error catalog is the one place a code is defined', () => {
  const catalog: ErrorCatalog = {
    ...ERROR_CATALOG,
    kettle_empty: {
      status: 418,
      title: 'The kettle is empty',
      meaning: 'A code of this test only.',
      action: 'Fill the kettle.',
      retryable: true,
    },
    kettle_busy: {
      status: 503,
      title: 'Kettle busy',
      meaning: 'Another code of this test.',
      action: 'Wait.',
      retryable: true,
    },
  };

  it('a code added to the catalog is answered with its status and title', () => {
    const response = problemResponse({ code: 'kettle_empty', detail: 'No water.' }, 'c-1', catalog);
    expect(response.status).toBe(418);
    expect(JSON.parse(response.body as string)).toEqual({
      type: 'urn:ai-token-vending:problem:kettle_empty',
      title: 'The kettle is empty',
      status: 418,
      detail: 'No water.',
      code: 'kettle_empty',
      correlationId: 'c-1',
    });
  });

  it('a code added to the catalog appears in the OpenAPI document and the docs table', () => {
    const built = buildOpenApiDocument(catalog);
    expect(built.components.schemas.ErrorCode?.enum).toEqual(Object.keys(catalog));
    expect(built.components.responses.Problem418?.description).toContain(
      '`kettle_empty`: A code of this test only. Fill the kettle.',
    );
    expect(built.components.schemas.Problem503?.properties?.code).toMatchObject({
      enum: expect.arrayContaining(['sts_unavailable', 'kettle_busy']) as unknown,
    });
    expect(codesOfStatus(418, catalog)).toEqual(['kettle_empty']);
    expect(errorsTable(catalog)).toContain(
      '| 418 | `kettle_empty` | A code of this test only. | Fill the kettle. | yes |',
    );
  });
});

describe('the answer check the harness applies', () => {
  let h: Harness;
  let token: WireAnswer;
  let forbidden: WireAnswer;

  beforeAll(async () => {
    h = await startHarness();
    const ok = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${await h.callerToken()}` });
    token = { method: 'GET', path: '/api/token/speech', ...ok };
    const refused = await h.call('GET', '/api/token/speech', {
      authorization: `Bearer ${await h.callerToken({ roles: ['Other'] })}`,
    });
    forbidden = { method: 'GET', path: '/api/token/speech', ...refused };
  });
  afterAll(async () => {
    await h.close();
  });

  const problemsOf = (answer: WireAnswer) => checker.violations(answer).problems.join('\n');
  const withBody = (answer: WireAnswer, change: (body: Record<string, unknown>) => void): WireAnswer => {
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    change(body);
    return { ...answer, body: JSON.stringify(body) };
  };

  it('passes the real answers', () => {
    expect(problemsOf(token)).toBe('');
    expect(problemsOf(forbidden)).toBe('');
  });

  it('fails a field the schema does not declare', () => {
    expect(problemsOf(withBody(token, (body) => (body.refreshToken = 'x')))).toMatch(/additional properties/);
    expect(problemsOf(withBody(forbidden, (body) => (body.stack = 'at x')))).toMatch(/additional properties/);
  });

  it('fails a code the status does not list, and a code the document does not know', () => {
    expect(problemsOf(withBody(forbidden, (body) => (body.code = 'key_rejected')))).toMatch(/allowed values/);
    expect(problemsOf(withBody(forbidden, (body) => (body.code = 'brand_new_code')))).toMatch(/allowed values/);
  });

  it('fails a missing or wrong field, a status the operation does not list, and a wrong media type', () => {
    expect(problemsOf(withBody(token, (body) => delete body.expiresInSeconds))).toMatch(/required property/);
    expect(problemsOf(withBody(token, (body) => (body.expiresOn = 'tomorrow')))).toMatch(/format|pattern/);
    expect(problemsOf({ ...forbidden, status: 418 })).toMatch(/status not documented/);
    expect(problemsOf({ ...forbidden, headers: { ...forbidden.headers, 'content-type': 'application/json' } })).toMatch(
      /Content-Type/,
    );
  });

  it('fails a missing documented header and an undocumented contract header', () => {
    const withoutId = Object.fromEntries(Object.entries(token.headers).filter(([name]) => name !== 'x-correlation-id'));
    expect(problemsOf({ ...token, headers: withoutId })).toMatch(/required header x-correlation-id/);
    expect(problemsOf({ ...forbidden, headers: { ...forbidden.headers, 'retry-after': '5' } })).toMatch(
      /retry-after is not in the document/,
    );
  });
});
