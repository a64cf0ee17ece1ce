import { createHash } from 'node:crypto';
import type { HttpMethod } from '@azure/functions';
import { openApiText } from '../contract/openapi.js';
import { handle, methodNotAllowed, type RouteHandler } from '../http/handle.js';
import { ifNoneMatchHits, revalidatedJsonHeaders } from '../http/headers.js';

/** The one method `/api/openapi.json` serves; the route table registers it for every method so it can say 405 itself. */
export const OPENAPI_METHODS: readonly HttpMethod[] = ['GET'];

let etag: string | undefined;

/**
 * `GET /api/openapi.json`: the OpenAPI document, anonymously (it holds no configuration). Revalidated
 * by ETag (SHA-256 of the text): `If-None-Match` with the current one answers 304 without a body.
 * Any other method answers 405 `method_not_allowed` with `Allow: GET`.
 */
export function openApiHandler(): RouteHandler {
  return handle('openapi', ({ request, correlationId }) => {
    if (!OPENAPI_METHODS.includes(request.method as HttpMethod))
      throw methodNotAllowed(request.method, OPENAPI_METHODS);
    const body = openApiText();
    etag ??= `"${createHash('sha256').update(body).digest('base64url')}"`;
    const headers = revalidatedJsonHeaders(correlationId, etag);
    if (ifNoneMatchHits(request.headers.get('if-none-match'), etag)) return Promise.resolve({ status: 304, headers });
    return Promise.resolve({ status: 200, headers, body });
  });
}
