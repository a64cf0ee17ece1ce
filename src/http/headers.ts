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

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The caller's `x-correlation-id` when it is a sane identifier, so traces join up; else ours. */
export function correlationIdFrom(header: string | null, fallback: string): string {
  return header !== null && CORRELATION_ID.test(header) ? header : fallback;
}
