/**
 * Every failure the service can report, by stable machine-readable code. Callers and tests branch
 * on the code, never on message text; `src/http/problem.ts` maps codes to HTTP in one place.
 */
export const ERROR_CODES = [
  // caller
  'missing_token',
  'invalid_token',
  'forbidden',
  'resource_not_found',
  'rate_limited',
  'identity_provider_unavailable',
  // configuration
  'configuration_invalid',
  // Key Vault
  'keyvault_forbidden',
  'keyvault_role_missing',
  'keyvault_access_policy_missing',
  'keyvault_network_restricted',
  'keyvault_wrong_tenant',
  'keyvault_credential_unavailable',
  'keyvault_unreachable',
  'keyvault_unavailable',
  'keyvault_throttled',
  'secret_not_found',
  'secret_disabled',
  'key_looks_like_subscription_id',
  'key_malformed',
  // STS
  'key_rejected',
  'local_auth_disabled',
  'network_restricted',
  'sts_forbidden',
  'sts_bad_request',
  'sts_not_found',
  'custom_subdomain_required',
  'quota_exceeded',
  'sts_throttled',
  'sts_unavailable',
  'sts_timeout',
  'sts_unreachable',
  'sts_invalid_response',
  // HTTP
  'route_not_found',
  'method_not_allowed',
  'bad_request',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface VendingErrorDetails {
  /** Safe to show the caller: no key, vault URL or secret name. Defaults to the message. */
  readonly detail?: string;
  /** For the operator's log: the full diagnosis, which may name the vault and secret but never a key. */
  readonly diagnosis?: string;
  /** For the operator: what to change. */
  readonly fix?: string;
  readonly retryAfterSeconds?: number;
  /** The methods a route serves, for the `Allow` header of a 405. */
  readonly allow?: readonly string[];
  /** The upstream's own error code, for the operator's log when ours is the generic one. */
  readonly upstreamCode?: string;
  readonly cause?: unknown;
}

export class VendingError extends Error {
  readonly detail: string;
  readonly diagnosis: string | undefined;
  readonly fix: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly allow: readonly string[] | undefined;
  readonly upstreamCode: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    details: VendingErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VendingError';
    this.detail = details.detail ?? message;
    this.diagnosis = details.diagnosis;
    this.fix = details.fix;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.allow = details.allow;
    this.upstreamCode = details.upstreamCode;
  }
}

/** Whatever was thrown, as a VendingError; unknown failures become `internal_error` with nothing leaked. */
export function ensureVendingError(error: unknown): VendingError {
  if (error instanceof VendingError) return error;
  return new VendingError('internal_error', 'An unexpected error occurred.', {
    diagnosis: describeError(error),
    cause: error,
  });
}

/** Whatever was thrown, as one line for an operator's log: `Name: message`, CR/LF folded. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}
