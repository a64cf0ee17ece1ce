/**
 * The longest an upstream's `Retry-After` is honoured, in ms: one minute. The header is advice
 * (RFC 9110 §10.2.3): a failure is held (the resource, the secret, discovery or the key set not
 * asked again) for as long as the upstream asked, up to this, and callers are told the same capped
 * figure. Without a cap one answer of `Retry-After: 3600`, from a broken proxy or a hostile
 * upstream, would take a resource away for an hour.
 */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * An upstream's `Retry-After`, in seconds or as an HTTP date, as ms from `now`, at most
 * `MAX_RETRY_AFTER_MS` (so an upstream's 10^400 seconds cannot become `Infinity` either). A date
 * already past is 0. `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}

/** Headers as fetch's `Headers` and the Azure SDK's `HttpHeaders` both read them. */
export interface HeaderReader {
  get(name: string): string | null | undefined;
}

/** Azure's wait headers in milliseconds, which the Azure SDK reads before `Retry-After`. */
export const RETRY_AFTER_MS_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms'] as const;

/**
 * The wait an upstream answer asks for, in ms, capped at `MAX_RETRY_AFTER_MS`: `retry-after-ms` or
 * `x-ms-retry-after-ms` (milliseconds, as Azure services send them), else `Retry-After` (the Azure
 * SDK's throttling retry strategy reads them in that order). `undefined` when none is readable.
 */
export function retryAfterOf(headers: HeaderReader, now: number): number | undefined {
  for (const name of RETRY_AFTER_MS_HEADERS) {
    const value = headers.get(name)?.trim();
    if (value !== undefined && /^\d+$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Number(value));
  }
  return parseRetryAfter(headers.get('retry-after'), now);
}

/** A wait as the whole seconds a caller is told (`Retry-After`, `retryAfterSeconds`): at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
