/** Longer than any wait worth reporting; callers see it in `Retry-After` and the body. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * An upstream's `Retry-After`, in seconds or as an HTTP date, as ms from `now` (RFC 9110
 * §10.2.3), at most an hour: it is passed on to callers, and an upstream's 10^400 seconds must
 * not become `Infinity`. A date already past is 0. `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}

/** A wait as the whole seconds a caller is told (`Retry-After`, `retryAfterSeconds`): at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
