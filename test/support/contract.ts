import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import {
  openApiDocument,
  type HeaderObject,
  type OpenApiDocument,
  type Operation,
  type ResponseObject,
} from '../../src/contract/openapi.js';

/**
 * Checks answers the service really gave against the OpenAPI document: the route and method are
 * documented, the status is one the operation lists, the media type is the documented one, the body
 * validates against the documented schema (ajv, JSON Schema 2020-12, strict; `additionalProperties:
 * false` everywhere, so an undocumented field fails), documented headers are present and valid, and
 * no undocumented contract header is sent. The harness runs every answer it gets through this, and
 * so does the local-host test.
 */

/** An answer as the wire carried it; header names in lower case. */
export interface WireAnswer {
  readonly method: string;
  /** The URL path, without query. */
  readonly path: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

interface Reference {
  readonly $ref: string;
}

// Headers every answer may carry that are transport, caching or browser policy rather than contract.
const GENERIC_HEADERS = new Set([
  'content-type',
  'content-length',
  'cache-control',
  'x-content-type-options',
  'content-security-policy',
  'referrer-policy',
  'vary',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
]);

// The document's $refs are relative to the document; ajv needs a base URI to resolve them.
const BASE = 'https://contract.test/openapi.json';

class ContractChecker {
  readonly #document: OpenApiDocument;
  readonly #ajv: Ajv2020.default;
  readonly #inline = new Map<object, ValidateFunction>();
  readonly #paths: readonly { readonly template: string; readonly pattern: RegExp }[];

  constructor(document: OpenApiDocument) {
    this.#document = document;
    this.#ajv = new Ajv2020.default({ strict: true, allErrors: true });
    addFormats.default(this.#ajv);
    // Wrapping the schemas at their place in the document lets `#/components/schemas/X` resolve.
    this.#ajv.addKeyword('components');
    this.#ajv.addSchema({ $id: BASE, components: { schemas: document.components.schemas } });
    this.#paths = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}/?$`, 'i'),
    }));
  }

  /** Compiles every component schema: ajv's strict mode refuses anything that is not 2020-12. */
  compileAll(): void {
    for (const name of Object.keys(this.#document.components.schemas))
      this.schema({ $ref: `#/components/schemas/${name}` });
  }

  /** A validator for a schema of the document, inline or by `$ref`. */
  schema(schema: object): ValidateFunction {
    if (isReference(schema)) {
      const validate = this.#ajv.getSchema(BASE + schema.$ref);
      if (validate === undefined) throw new Error(`no schema ${schema.$ref}`);
      return validate;
    }
    let validate = this.#inline.get(schema);
    if (validate === undefined) {
      validate = this.#ajv.compile(schema);
      this.#inline.set(schema, validate);
    }
    return validate;
  }

  /** The documented path template and operation for a request; `operation` undefined when the method is not one. */
  operationOf(method: string, path: string): { template: string; operation: Operation | undefined } | undefined {
    const found = this.#paths.find(({ pattern }) => pattern.test(path));
    if (found === undefined) return undefined;
    const item = this.#document.paths[found.template];
    const operation = item?.[method.toLowerCase() as 'get' | 'post'];
    return { template: found.template, operation };
  }

  violations(answer: WireAnswer): { key: string; problems: string[] } {
    const problems: string[] = [];
    const where = this.operationOf(answer.method, answer.path);
    const label = `${answer.method} ${where?.template ?? answer.path} ${answer.status}`;
    let response: ResponseObject | undefined;
    if (where?.operation !== undefined) {
      const documented = where.operation.responses[String(answer.status)];
      if (documented === undefined) problems.push(`${label}: status not documented for this operation`);
      else response = this.resolve<ResponseObject>(documented);
    } else {
      // No such route or method: the hosts answer 404 route_not_found, or 405 where a route says so itself.
      response = this.#document.components.responses[`Problem${answer.status}`];
      if (response === undefined || ![404, 405].includes(answer.status))
        problems.push(`${label}: neither a documented operation nor a documented 404/405`);
    }
    if (response === undefined) return { key: label, problems };

    let code: string | undefined;
    const media = Object.entries(response.content ?? {});
    const contentType = answer.headers['content-type']?.split(';')[0]?.trim();
    if (media.length === 0) {
      if (answer.body !== '') problems.push(`${label}: a body where the document has none`);
    } else {
      const [type, documented] = media.find(([name]) => name === contentType) ?? [];
      if (type === undefined || documented === undefined)
        problems.push(
          `${label}: Content-Type ${contentType ?? '(none)'}, documented ${media.map(([n]) => n).join(', ')}`,
        );
      else if (answer.method !== 'HEAD') {
        let body: unknown;
        try {
          body = JSON.parse(answer.body);
        } catch {
          problems.push(`${label}: body is not JSON`);
        }
        const validate = this.schema(documented.schema);
        if (body !== undefined && !validate(body))
          problems.push(`${label}: body ${this.#ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
        if (typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'string')
          code = body.code;
      }
    }

    const documentedHeaders = new Map(
      Object.entries(response.headers ?? {}).map(([name, header]) => [
        name.toLowerCase(),
        this.resolve<HeaderObject>(header),
      ]),
    );
    for (const [name, header] of documentedHeaders) {
      const value = answer.headers[name];
      if (value === undefined) {
        if (header.required === true) problems.push(`${label}: required header ${name} missing`);
        continue;
      }
      const validate = this.schema(header.schema);
      if (!validate(isIntegerSchema(header.schema) ? Number(value) : value))
        problems.push(`${label}: header ${name}: ${value} ${this.#ajv.errorsText(validate.errors)}`);
    }
    for (const name of Object.keys(answer.headers)) {
      if (!documentedHeaders.has(name) && !GENERIC_HEADERS.has(name))
        problems.push(`${label}: header ${name} is not in the document`);
    }
    return { key: code === undefined ? label : `${label} ${code}`, problems };
  }

  resolve<T>(value: T | Reference): T {
    if (!isReference(value)) return value;
    const [, , kind, name] = value.$ref.split('/');
    const components = this.#document.components as unknown as Record<string, Record<string, T>>;
    const found = kind === undefined || name === undefined ? undefined : components[kind]?.[name];
    if (found === undefined) throw new Error(`unresolved ${value.$ref}`);
    return found;
  }
}

function isReference(value: unknown): value is Reference {
  return typeof value === 'object' && value !== null && '$ref' in value;
}

function isIntegerSchema(schema: object): boolean {
  return 'type' in schema && schema.type === 'integer';
}

let shared: ContractChecker | undefined;

/** The checker for the service's own document (built once per test process). */
export function contractChecker(document: OpenApiDocument = openApiDocument()): ContractChecker {
  if (document !== openApiDocument()) return new ContractChecker(document);
  shared ??= new ContractChecker(document);
  return shared;
}

/** `METHOD template status [code]` of every conforming answer checked in this test process. */
export const checkedAnswers = new Set<string>();

/** Throws, listing every departure, unless the answer is what the document says. */
export function expectConforms(answer: WireAnswer): void {
  const { key, problems } = contractChecker().violations(answer);
  if (problems.length > 0) throw new Error(`The answer departs from openapi.json:\n  ${problems.join('\n  ')}`);
  checkedAnswers.add(key);
}

/** `fetch`, with the answer checked against the document; header names in lower case. */
export async function fetchConforming(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Record<string, string>; body: string; json: unknown }> {
  const response = await fetch(url, init);
  const body = await response.text();
  const headers = Object.fromEntries(response.headers.entries());
  expectConforms({ method: init.method ?? 'GET', path: new URL(url).pathname, status: response.status, headers, body });
  return { status: response.status, headers, body, json: body ? JSON.parse(body) : undefined };
}
