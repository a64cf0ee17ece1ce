import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { describeError, ensureVendingError, VendingError, type ErrorCode } from '../errors/serviceError.js';
import { Logger, type LogFields, type LogLevel } from '../log/logger.js';
import type { RequestCorrelation } from '../telemetry/telemetry.js';
import { correlationIdFrom, jsonHeaders } from './headers.js';
import { problemResponse } from './problem.js';

/**
 * What a handler reads of a request. Azure's `HttpRequest` has it all; the local host passes a
 * plain object of this shape rather than building a fetch `Request` for every request.
 */
export interface RouteRequest {
  readonly method: string;
  readonly headers: Pick<HttpRequest['headers'], 'get'>;
  readonly params: Readonly<Record<string, string>>;
}

/** What a handler needs of its invocation: Azure's `InvocationContext`, or the local host's. */
export type RouteContext = Pick<InvocationContext, 'invocationId' | 'traceContext' | LogLevel>;

export type RouteHandler = (request: RouteRequest, context: RouteContext) => Promise<HttpResponseInit>;

export interface RequestScope {
  readonly request: RouteRequest;
  readonly correlationId: string;
  /** Fields added to the request's summary log line. */
  readonly note: (fields: LogFields) => void;
  /** The ids the upstream calls made for this request carry (passed down to them). */
  readonly correlation: RequestCorrelation;
}

/** How a request was answered, for a route that counts its answers. */
export interface Answered {
  readonly status: number;
  /** The error code of a problem answer; undefined for a success. */
  readonly code: ErrorCode | undefined;
  /** What the route noted for its log line. */
  readonly noted: LogFields;
}

/**
 * A route that answers 200 with the JSON of its typed answer (`contract/answers.ts`). The answer is
 * not re-checked per request: its type is the schema's, and the tests check every answer they get
 * against the OpenAPI document built from the same schemas. An answer object the work returns
 * again (a shared token within the same second) is serialized once: answers are never mutated.
 */
export function handleJson<Answer extends object>(
  route: string,
  work: (scope: RequestScope) => Promise<Answer>,
  observe?: (answered: Answered) => void,
): RouteHandler {
  const serialized = new WeakMap<Answer, string>();
  return handle(
    route,
    async (scope) => {
      const answer = await work(scope);
      let body = serialized.get(answer);
      if (body === undefined) {
        body = JSON.stringify(answer);
        serialized.set(answer, body);
      }
      return { status: 200, headers: jsonHeaders(scope.correlationId), body };
    },
    observe,
  );
}

/**
 * The shell around every route: invocation and correlation ids, errors mapped to problem+json, and
 * a log line for each request an operator may act on: a failure (5xx as an error, 4xx other than a
 * missing token as a warning), with what the route noted. A success is counted by the metrics, not
 * logged: in Azure every line is an Application Insights trace someone pays for. The work itself
 * returns the whole answer; `observe` is told how it went (it must not throw: a failure there is
 * swallowed, never the caller's problem).
 */
export function handle(
  route: string,
  work: (scope: RequestScope) => Promise<HttpResponseInit>,
  observe?: (answered: Answered) => void,
): RouteHandler {
  return async (request, context) => {
    const started = performance.now();
    const { invocationId } = context;
    const correlationId = correlationIdFrom(request.headers.get('x-correlation-id'), invocationId);
    // The caller chooses its correlation id, so it cannot be what identifies a request in the log:
    // every line also carries the invocation id, which only the host gives.
    const log = (level: LogLevel, event: string, fields: LogFields) =>
      new Logger((at, line) => context[at](line), { invocationId, correlationId, route })[level](event, fields);
    const noted: Record<string, LogFields[string]> = {};
    const note = (fields: LogFields) => Object.assign(noted, fields);
    const correlation = { invocationId, correlationId, traceParent: context.traceContext?.traceParent ?? undefined };
    let response: HttpResponseInit;
    let code: ErrorCode | undefined;
    try {
      response = await work({ request, correlationId, note, correlation });
    } catch (thrown) {
      const error = ensureVendingError(thrown);
      code = error.code;
      response = problemResponse(error, correlationId);
      note({ code: error.code, upstreamCode: error.upstreamCode, diagnosis: error.diagnosis, fix: error.fix });
      if (error.code === 'internal_error') log('error', 'unhandled_error', { error: describeError(thrown) });
    }
    const status = response.status ?? 200;
    try {
      observe?.({ status, code, noted });
    } catch {
      // Counting an answer must never change it.
    }
    if (status >= 400 && code !== 'missing_token') {
      const fields = { method: request.method, status, durationMs: Math.round(performance.now() - started), ...noted };
      log(status >= 500 ? 'error' : 'warn', 'request', fields);
    }
    return response;
  };
}

/** `method_not_allowed` (405) for a route that serves only `allow`. */
export function methodNotAllowed(method: string, allow: readonly string[]): VendingError {
  return new VendingError('method_not_allowed', `Method ${method} not allowed.`, {
    detail: `This route answers ${allow.join(', ')} only, not ${method}.`,
    allow,
  });
}
