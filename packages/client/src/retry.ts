import type { TokenVendingError } from './errors.js';

/**
 * Worth another attempt: the network, a timeout, throttling (429) and the API's 5xx for
 * unavailable upstreams. Not 400/401/403/404: asking again gets the same answer.
 * A 502 *with* a problem code is this API saying the resource is misconfigured (key rejected,
 * local auth disabled, …), which no retry fixes; a bare 502 comes from a gateway in between.
 */
export function isTransient(error: TokenVendingError): boolean {
  if (error.code === 'network_error') return true;
  switch (error.status) {
    case 408:
    case 429:
    case 500:
    case 503:
    case 504:
      return true;
    case 502:
      return error.code === 'http_502';
    default:
      return false;
  }
}

/** Full jitter: a random wait in [0, base · 2^(retry-1)], so many clients do not retry in step. */
export function backoffDelayMs(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1)) * random();
}

/** `Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
