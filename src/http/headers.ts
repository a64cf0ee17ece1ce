/** A correlation id: the caller's `x-correlation-id` when it has this shape, else one the service makes. */
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** Headers for every JSON answer: never cached (tokens), never sniffed or framed. */
export function jsonHeaders(correlationId: string): Record<string, string> {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    'X-Correlation-Id': correlationId,
  };
}

/**
 * Headers for a public JSON document that holds no secret: any cache may keep it, but must ask
 * again (`If-None-Match` with the `etag`) before each use, so nobody serves a stale version.
 */
export function revalidatedJsonHeaders(correlationId: string, etag: string): Record<string, string> {
  return { ...jsonHeaders(correlationId), 'Cache-Control': 'no-cache', ETag: etag };
}

/**
 * Whether an `If-None-Match` header names `etag` (RFC 9110 13.1.2: weak comparison, `*` matches
 * anything, a list is comma-separated).
 */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (header === null) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

/** The caller's `x-correlation-id` when it is a sane identifier, so traces join up; else ours. */
export function correlationIdFrom(header: string | null, fallback: string): string {
  return header !== null && CORRELATION_ID_PATTERN.test(header) ? header : fallback;
}
