import { isRestError } from '@azure/core-rest-pipeline';
import {
  AggregateAuthenticationErrorName,
  AuthenticationErrorName,
  CredentialUnavailableErrorName,
} from '@azure/identity';
import { describeError, VendingError } from '../errors.js';

/** The read being judged, for diagnoses. */
export interface SecretRead {
  readonly vaultUrl: string;
  readonly secretName: string;
  /** The read's budget, in ms, named in timeout diagnoses. */
  readonly timeoutMs: number;
}

const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  CredentialUnavailableErrorName,
  AuthenticationErrorName,
  AggregateAuthenticationErrorName,
]);

/**
 * Turns whatever a `SecretClient.getSecret` threw into our error: no credential, no answer, or the
 * vault's answer by status (Key Vault REST reference, "Common error codes").
 */
export function classifyKeyVaultFailure(error: unknown, read: SecretRead): VendingError {
  const where = `secret "${read.secretName}" in ${read.vaultUrl}`;
  if (error instanceof Error && CREDENTIAL_ERRORS.has(error.name)) return credentialUnavailable(where, error);
  if (!isRestError(error) || error.statusCode === undefined) return unreachable(where, read.timeoutMs, error);
  const { statusCode, code, message } = error;
  if (statusCode === 404)
    return secretNotFound(read.secretName, `${where} does not exist (${code ?? 'NotFound'})`, error);
  if (statusCode === 403 && /disabled/i.test(message)) return secretDisabled(read.secretName, where, error);
  if (statusCode === 401 || statusCode === 403) return forbidden(where, statusCode, code, message, error);
  return unavailable(where, statusCode, code, error);
}

/** A secret that exists but holds nothing. */
export function secretEmpty(read: SecretRead): VendingError {
  return secretNotFound(read.secretName, `secret "${read.secretName}" in ${read.vaultUrl} is empty`);
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0] ?? '';
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

function forbidden(
  where: string,
  statusCode: number,
  code: string | undefined,
  message: string,
  cause: unknown,
): VendingError {
  return new VendingError('keyvault_forbidden', 'Key Vault refused to give the secret.', {
    detail: 'The service is not allowed to read its keys. The operator has been told.',
    diagnosis: `Key Vault answered ${statusCode} (${code ?? 'Forbidden'}) reading ${where}: ${firstLine(message)}`,
    fix: 'Grant the function app\'s identity the "Key Vault Secrets User" role on the vault (RBAC vaults), or a Get secret access policy; allow its network in the vault firewall.',
    cause,
  });
}

function unavailable(where: string, statusCode: number, code: string | undefined, cause: unknown): VendingError {
  return new VendingError('keyvault_unavailable', 'Key Vault is unavailable.', {
    detail: 'The service cannot read its keys right now. Retry shortly.',
    diagnosis: `Key Vault answered ${statusCode} (${code ?? 'error'}) reading ${where}`,
    fix:
      statusCode === 429
        ? 'Key Vault is throttling this vault; fewer reads or a longer secret cache help.'
        : 'A Key Vault service problem; it usually passes. Check Azure status if it persists.',
    retryAfterSeconds: 5,
    cause,
  });
}
