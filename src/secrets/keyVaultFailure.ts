import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import {
  AggregateAuthenticationErrorName,
  AuthenticationErrorName,
  CredentialUnavailableErrorName,
} from '@azure/identity';
import { z } from 'zod';
import { describeError, VendingError } from '../errors/serviceError.js';
import { parseRetryAfter, retryAfterSeconds } from '../http/retryAfter.js';

/** Where the secret source's pipeline keeps a `Retry-After` too long to wait for (keyVaultSecretSource.ts). */
export const DEFERRED_RETRY_AFTER = 'x-deferred-retry-after';

/** The read being judged, for diagnoses. */
export interface SecretRead {
  readonly vaultUrl: string;
  readonly secretName: string;
  /** The read's budget, in ms, named in timeout diagnoses. */
  readonly timeoutMs: number;
  /** The injected clock when the read failed, epoch ms (for an HTTP-date `Retry-After`). */
  readonly now: number;
}

const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  CredentialUnavailableErrorName,
  AuthenticationErrorName,
  AggregateAuthenticationErrorName,
]);

/**
 * What Key Vault said in its error body, `{error: {code, message, innererror: {code}}}`. The SDK
 * puts the body on `RestError.details`, the inner code under `innerError` (its casing).
 */
const keyVaultErrorBody = z.object({
  error: z.object({
    code: z.string().optional(),
    innerError: z.object({ code: z.string().optional() }).optional(),
    innererror: z.object({ code: z.string().optional() }).optional(),
  }),
});

function innerCode(details: unknown): string | undefined {
  const parsed = keyVaultErrorBody.safeParse(details);
  if (!parsed.success) return undefined;
  return (parsed.data.error.innerError ?? parsed.data.error.innererror)?.code;
}

/** How long the vault asked callers to wait (`Retry-After` in seconds or as a date), in seconds. */
function retryAfterOf(error: RestError, now: number): number | undefined {
  const value = error.response?.headers.get('retry-after') ?? error.response?.headers.get(DEFERRED_RETRY_AFTER);
  const waitMs = parseRetryAfter(value, now);
  return waitMs === undefined ? undefined : retryAfterSeconds(waitMs);
}

/**
 * Turns whatever a `SecretClient.getSecret` threw into our error: no credential, no answer, or the
 * vault's answer by status and inner code (Key Vault REST reference, "Common error codes"; the
 * inner codes as the service sends them: ForbiddenByRbac, ForbiddenByPolicy, ForbiddenByFirewall,
 * ForbiddenByConnection, SecretDisabled). An answer we do not know keeps a generic code and carries
 * the vault's own codes in `upstreamCode`.
 */
export function classifyKeyVaultFailure(error: unknown, read: SecretRead): VendingError {
  const where = `secret "${read.secretName}" in ${read.vaultUrl}`;
  if (error instanceof Error && CREDENTIAL_ERRORS.has(error.name)) return credentialUnavailable(where, error);
  if (!isRestError(error) || error.statusCode === undefined) return unreachable(where, read.timeoutMs, error);
  const { statusCode, code } = error;
  const inner = innerCode(error.details);
  const said = `Key Vault answered ${statusCode} (${[code, inner].filter(Boolean).join('/') || 'error'}) reading ${where}: ${firstLine(error.message)}`;
  const upstreamCode = [code, inner].filter(Boolean).join('/') || undefined;
  if (statusCode === 404)
    return secretNotFound(read.secretName, `${where} does not exist (${code ?? 'NotFound'})`, error);
  if (inner === 'SecretDisabled' || (statusCode === 403 && /disabled secret/i.test(error.message))) {
    return secretDisabled(read.secretName, where, error);
  }
  if (inner === 'ForbiddenByFirewall' || inner === 'ForbiddenByConnection') {
    return networkRestricted(said, inner, error);
  }
  if (inner === 'ForbiddenByRbac') return roleMissing(said, read.secretName, error);
  if (inner === 'ForbiddenByPolicy') return accessPolicyMissing(said, error);
  if (statusCode === 401 && /AKV10032|invalid issuer/i.test(error.message)) return wrongTenant(said, error);
  if (statusCode === 401 || statusCode === 403) return forbidden(said, upstreamCode, error);
  if (statusCode === 429) return throttled(said, retryAfterOf(error, read.now), error);
  return unavailable(said, upstreamCode, retryAfterOf(error, read.now), error);
}

/** A secret that exists but holds nothing. */
export function secretEmpty(read: SecretRead): VendingError {
  return secretNotFound(read.secretName, `secret "${read.secretName}" in ${read.vaultUrl} is empty`);
}

/** Key Vault's messages run over several CRLF lines; the first says what happened. */
function firstLine(text: string): string {
  return (text.split(/\r?\n/)[0] ?? '').slice(0, 300);
}

function credentialUnavailable(where: string, cause: Error): VendingError {
  return new VendingError('keyvault_credential_unavailable', 'No Azure credential to read Key Vault with.', {
    detail: 'The service cannot read its keys right now. The operator has been told.',
    diagnosis: `could not get a token for Key Vault to read ${where}: ${firstLine(cause.message)}`,
    fix: 'In Azure, give the function app a managed identity (and set AZURE_CLIENT_ID for a user-assigned one); locally, run `az login`.',
    cause,
  });
}

function unreachable(where: string, timeoutMs: number, cause: unknown): VendingError {
  const timedOut = cause instanceof Error && cause.name === 'AbortError';
  return new VendingError('keyvault_unreachable', 'Key Vault could not be reached.', {
    detail: 'The service cannot read its keys right now. Retry shortly.',
    diagnosis: `${timedOut ? `no answer within ${timeoutMs} ms` : 'network failure'} reading ${where}: ${describeError(cause)}`,
    fix: "Check KEY_VAULT_URI, DNS, and the vault's network rules (firewall, private endpoint) for this function app.",
    retryAfterSeconds: 5,
    cause,
  });
}

function secretNotFound(secretName: string, diagnosis: string, cause?: unknown): VendingError {
  return new VendingError('secret_not_found', `Key Vault secret "${secretName}" not found.`, {
    detail: 'The key for this resource is not configured. The operator has been told.',
    diagnosis,
    fix: `Create secret "${secretName}" holding the resource's key, or correct "secretName" in TOKEN_RESOURCES.`,
    cause,
  });
}

function secretDisabled(secretName: string, where: string, cause: unknown): VendingError {
  return new VendingError('secret_disabled', `Key Vault secret "${secretName}" is disabled.`, {
    detail: 'The key for this resource is not available. The operator has been told.',
    diagnosis: `${where} is disabled`,
    fix: `Enable the current version of secret "${secretName}", or add a new enabled version.`,
    cause,
  });
}

function networkRestricted(diagnosis: string, inner: string, cause: unknown): VendingError {
  return new VendingError('keyvault_network_restricted', "Key Vault's network rules refused the read.", {
    detail: 'The service cannot reach its keys from its network. The operator has been told.',
    diagnosis,
    fix:
      inner === 'ForbiddenByConnection'
        ? "The vault takes no public traffic: reach it through a private endpoint from the function app's VNet (VNet integration plus private DNS for privatelink.vaultcore.azure.net), or re-enable public network access with a firewall."
        : "The vault's firewall refused the function app's address: add the app's outbound addresses to the vault's Networking allow list, reach it through a private endpoint, or allow all networks; \"trusted Microsoft services\" does not cover a function app. A role assignment will not help.",
    cause,
  });
}

/** What a caller learns of any refusal by the vault: the cause is the operator's, in the log. */
const NOT_ALLOWED_DETAIL = 'The service is not allowed to read its keys. The operator has been told.';

function roleMissing(diagnosis: string, secretName: string, cause: unknown): VendingError {
  return new VendingError('keyvault_role_missing', 'The identity has no Key Vault role to read the secret.', {
    detail: NOT_ALLOWED_DETAIL,
    diagnosis,
    fix: `The vault uses Azure RBAC: grant the function app's identity "Key Vault Secrets User" on the vault or on secret "${secretName}" (role assignments take a few minutes to apply).`,
    cause,
  });
}

function accessPolicyMissing(diagnosis: string, cause: unknown): VendingError {
  return new VendingError('keyvault_access_policy_missing', 'No access policy lets the identity read secrets.', {
    detail: NOT_ALLOWED_DETAIL,
    diagnosis,
    fix: "The vault uses access policies: add one for the function app's identity with the secret Get permission (or switch the vault to Azure RBAC and grant Key Vault Secrets User).",
    cause,
  });
}

function wrongTenant(diagnosis: string, cause: unknown): VendingError {
  return new VendingError('keyvault_wrong_tenant', "The identity's token is from another tenant than the vault's.", {
    detail: NOT_ALLOWED_DETAIL,
    diagnosis,
    fix: "Use a vault in the tenant of the function app's managed identity (or, locally, `az login --tenant` the vault's tenant); a vault only accepts tokens from its own tenant.",
    cause,
  });
}

function forbidden(diagnosis: string, upstreamCode: string | undefined, cause: unknown): VendingError {
  return new VendingError('keyvault_forbidden', 'Key Vault refused to give the secret.', {
    detail: NOT_ALLOWED_DETAIL,
    diagnosis,
    fix: 'Grant the function app\'s identity the "Key Vault Secrets User" role on the vault (RBAC vaults), or a Get secret access policy; check the vault firewall.',
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    cause,
  });
}

function throttled(diagnosis: string, retryAfterSeconds: number | undefined, cause: unknown): VendingError {
  return new VendingError('keyvault_throttled', 'Key Vault is throttling reads.', {
    detail: 'The service cannot read its keys right now. Retry shortly.',
    diagnosis,
    fix: 'The vault (or subscription) is over its request limit: raise SECRET_MAX_AGE_MINUTES or the secret cache age so each instance reads less often, and keep busy vaults for this service alone.',
    retryAfterSeconds: retryAfterSeconds ?? 5,
    cause,
  });
}

function unavailable(
  diagnosis: string,
  upstreamCode: string | undefined,
  retryAfterSeconds: number | undefined,
  cause: unknown,
): VendingError {
  return new VendingError('keyvault_unavailable', 'Key Vault is unavailable.', {
    detail: 'The service cannot read its keys right now. Retry shortly.',
    diagnosis,
    fix: 'A Key Vault service problem; it usually passes. Check Azure status if it persists.',
    retryAfterSeconds: retryAfterSeconds ?? 5,
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    cause,
  });
}
