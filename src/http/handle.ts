import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { describeError, ensureVendingError, VendingError, type ErrorCode } from '../errors/serviceError.js';
import { Logger, type LogFields, type LogLevel } from '../log/logger.js';
import type { RequestCorrelation } from '../telemetry/telemetry.js';
import { correlationIdFrom, jsonHeaders } from './headers.js';
import { problemResponse } from './problem.js';

export type RouteHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface RequestScope {
  readonly request: HttpRequest;
  readonly logger: Logger;
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

const CONTEXT_LEVEL: Record<LogLevel, 'info' | 'warn' | 'error'> = { info: 'info', warn: 'warn', error: 'error' };

/**
 * A route that answers 200 with the JSON of its typed answer (`contract/answers.ts`). The answer is
 * not re-checked per request: its type is the schema's, and the tests check every answer they get
 * against the OpenAPI document built from the same schemas.
 */
export function handleJson<Answer>(
  route: string,
  work: (scope: RequestScope) => Promise<Answer>,
  observe?: (answered: Answered) => void,
): RouteHandler {
  return handle(
    route,
    async (scope) => ({
      status: 200,
      headers: jsonHeaders(scope.correlationId),
      body: JSON.stringify(await work(scope)),
    }),
    observe,
  );
}

/**
 * The shell around every route: invocation and correlation ids, one summary log line per request,
 * errors mapped to problem+json. The work itself returns the whole answer; `observe` is told how
 * it went (it must not throw: a failure there is swallowed, never the caller's problem).
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
    const logger = new Logger((level, line) => context[CONTEXT_LEVEL[level]](line), {
      invocationId,
      correlationId,
      route,
    });
    const noted: Record<string, LogFields[string]> = {};
    const note = (fields: LogFields) => Object.assign(noted, fields);
    const correlation = { invocationId, correlationId, traceParent: context.traceContext?.traceParent ?? undefined };
    let response: HttpResponseInit;
    let code: ErrorCode | undefined;
    try {
      response = await work({ request, logger, correlationId, note, correlation });
    } catch (thrown) {
      const error = ensureVendingError(thrown);
      code = error.code;
      response = problemResponse(error, correlationId);
      note({ code: error.code, upstreamCode: error.upstreamCode, diagnosis: error.diagnosis, fix: error.fix });
      if (error.code === 'internal_error') logger.error('unhandled_error', { error: describeError(thrown) });
    }
    const status = response.status ?? 200;
    try {
      observe?.({ status, code, noted });
    } catch {
      // Counting an answer must never change it.
    }
    const fields = { method: request.method, status, durationMs: Math.round(performance.now() - started), ...noted };
    if (status >= 500) logger.error('request', fields);
    else if (status >= 400 && !(noted.code === 'missing_token')) logger.warn('request', fields);
    else logger.info('request', fields);
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
