import type { HttpResponseInit } from '@azure/functions';
import { ERROR_CATALOG, type ErrorCatalog, type ErrorCode } from '../errors/catalog.js';
import { jsonHeaders } from './headers.js';

/** Prefix of a problem's `type`: the code follows it. */
export const PROBLEM_TYPE_BASE = 'urn:ai-token-vending:problem:';

/** What a problem answer is made of: a code of the catalog, and what the caller may be told. */
export interface ProblemSource<Code extends string = ErrorCode> {
  readonly code: Code;
  /** Safe for the caller. */
  readonly detail: string;
  readonly retryAfterSeconds?: number | undefined;
  /** For the `Allow` header of a 405. */
  readonly allow?: readonly string[] | undefined;
}

/**
 * An error as an `application/problem+json` answer (RFC 9457): status and title from the catalog,
 * with the headers the status calls for: `WWW-Authenticate` (401, 403), `Allow` (405) and, on 429
 * and 5xx, `Retry-After` with the same figure in the body's `retryAfterSeconds` (cross-origin, a
 * browser hides the header unless it is exposed). The body's shape is `contract/answers.ts`
 * `problemSchema`; the tests check every answer against the OpenAPI document.
 */
export function problemResponse<Code extends string = ErrorCode>(
  error: ProblemSource<Code>,
  correlationId: string,
  catalog: Readonly<Record<Code, ErrorCatalog[string]>> = ERROR_CATALOG as Readonly<
    Record<string, ErrorCatalog[string]>
  >,
): HttpResponseInit {
  const { status, title } = catalog[error.code];
  const headers: Record<string, string> = {
    ...jsonHeaders(correlationId),
    'Content-Type': 'application/problem+json',
  };
  if (status === 401)
    headers['WWW-Authenticate'] =
      error.code === 'invalid_token'
        ? 'Bearer error="invalid_token", error_description="The access token is invalid or expired"'
        : 'Bearer';
  if (status === 403) headers['WWW-Authenticate'] = 'Bearer error="insufficient_scope"';
  if (status === 405) headers.Allow = (error.allow ?? []).join(', ');
  const retryAfterSeconds =
    error.retryAfterSeconds !== undefined && (status === 429 || status >= 500) ? error.retryAfterSeconds : undefined;
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  const body = {
    type: PROBLEM_TYPE_BASE + error.code,
    title,
    status,
    detail: error.detail,
    code: error.code,
    correlationId,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
  return { status, headers, body: JSON.stringify(body) };
}
