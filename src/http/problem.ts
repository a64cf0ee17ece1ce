import type { HttpResponseInit } from '@azure/functions';
import type { ErrorCode, VendingError } from '../errors.js';
import { PROBLEM_TYPE_BASE, problemSchema } from '../model.js';
import { jsonHeaders } from './headers.js';

/** The one place error codes become HTTP: status and a short, stable title per code. */
export const PROBLEMS = {
  missing_token: { status: 401, title: 'Access token required' },
  invalid_token: { status: 401, title: 'Invalid access token' },
  forbidden: { status: 403, title: 'Not allowed to use this resource' },
  resource_not_found: { status: 404, title: 'No such resource' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  bad_request: { status: 400, title: 'Bad request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  identity_provider_unavailable: { status: 503, title: 'Cannot verify access tokens' },
  configuration_invalid: { status: 503, title: 'Service not configured' },
  keyvault_forbidden: { status: 502, title: 'Key Vault refused access' },
  keyvault_role_missing: { status: 502, title: 'Key Vault refused access' },
  keyvault_access_policy_missing: { status: 502, title: 'Key Vault refused access' },
  keyvault_network_restricted: { status: 502, title: 'Key Vault network rules refused access' },
  keyvault_wrong_tenant: { status: 502, title: 'Key Vault refused access' },
  keyvault_credential_unavailable: { status: 502, title: 'No credential for Key Vault' },
  keyvault_unreachable: { status: 503, title: 'Key Vault unreachable' },
  keyvault_unavailable: { status: 503, title: 'Key Vault unavailable' },
  keyvault_throttled: { status: 503, title: 'Key Vault throttling' },
  secret_not_found: { status: 502, title: 'Resource key not configured' },
  secret_disabled: { status: 502, title: 'Resource key disabled' },
  key_looks_like_subscription_id: { status: 502, title: 'Resource key misconfigured' },
  key_malformed: { status: 502, title: 'Resource key misconfigured' },
  key_rejected: { status: 502, title: 'Resource key rejected' },
  local_auth_disabled: { status: 502, title: 'Resource does not accept keys' },
  network_restricted: { status: 502, title: 'Resource network rules refused the call' },
  sts_forbidden: { status: 502, title: 'Token service refused the exchange' },
  sts_bad_request: { status: 502, title: 'Token service refused the exchange' },
  sts_not_found: { status: 502, title: 'No token service at the endpoint' },
  custom_subdomain_required: { status: 502, title: 'Resource needs its custom subdomain' },
  quota_exceeded: { status: 503, title: 'Resource call quota used up' },
  sts_invalid_response: { status: 502, title: 'Unexpected answer from the token service' },
  sts_throttled: { status: 503, title: 'Token service busy' },
  sts_unavailable: { status: 503, title: 'Token service unavailable' },
  sts_unreachable: { status: 503, title: 'Token service unreachable' },
  sts_timeout: { status: 504, title: 'Token service timed out' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Readonly<Record<ErrorCode, { readonly status: number; readonly title: string }>>;

/** Every HTTP status a problem can have. */
export type ProblemStatus = (typeof PROBLEMS)[ErrorCode]['status'];

/**
 * A VendingError as an `application/problem+json` answer (body encoded through `problemSchema`),
 * with the headers its status calls for: `WWW-Authenticate` (401, 403), `Allow` (405) and, on 429
 * and 5xx, `Retry-After`.
 */
export function problemResponse(error: VendingError, correlationId: string): HttpResponseInit {
  const { status, title } = PROBLEMS[error.code];
  const headers: Record<string, string> = {
    ...jsonHeaders(correlationId),
    'Content-Type': 'application/problem+json',
  };
  if (error.code === 'missing_token') headers['WWW-Authenticate'] = 'Bearer';
  if (error.code === 'invalid_token')
    headers['WWW-Authenticate'] =
      'Bearer error="invalid_token", error_description="The access token is invalid or expired"';
  if (error.code === 'forbidden') headers['WWW-Authenticate'] = 'Bearer error="insufficient_scope"';
  if (status === 405) headers.Allow = (error.allow ?? []).join(', ');
  // Cross-origin, a browser hides Retry-After unless it is exposed; the body carries it as well.
  const retryAfterSeconds =
    error.retryAfterSeconds !== undefined && (status === 429 || status >= 500) ? error.retryAfterSeconds : undefined;
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  const body = problemSchema.parse({
    type: PROBLEM_TYPE_BASE + error.code,
    title,
    status,
    detail: error.detail,
    code: error.code,
    correlationId,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
  return { status, headers, body: JSON.stringify(body) };
}
