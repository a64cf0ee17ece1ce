import { ERROR_CATALOG } from '../errors/catalog.js';
import { VendingError, type ErrorCode } from '../errors/serviceError.js';

/**
 * 5xx codes that say nothing about one member: the service's own state, which every member would
 * meet the same way, or a bug, which must be seen rather than hidden behind a fallback.
 */
const NOT_ABOUT_A_MEMBER: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'configuration_invalid',
  'identity_provider_unavailable',
  'internal_error',
]);

/**
 * Whether another member of the failover group may serve after this failure: every failure of a
 * member's upstream or its own settings, as the catalog gives them a 5xx status (unreachable,
 * timeout, 5xx, 429, quota, a refused, missing or disabled key, …). A caller's error (4xx: no
 * role, no such resource, over its rate limit) never fails over: no member would serve it.
 */
export function failsOver(error: unknown): error is VendingError {
  return (
    error instanceof VendingError && ERROR_CATALOG[error.code].status >= 500 && !NOT_ABOUT_A_MEMBER.has(error.code)
  );
}
