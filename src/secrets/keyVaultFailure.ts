import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import {
  AggregateAuthenticationErrorName,
  AuthenticationErrorName,
  CredentialUnavailableErrorName,
} from '@azure/identity';
import { z } from 'zod';
import { describeError, VendingError } from '../errors/serviceError.js';
import { parseRetryAfter, retryAfterSeconds } from '../http/retryAfter.js';
import { untrustedCertificate } from '../http/tlsTrust.js';
import { keyVaultScope } from '../clouds/clouds.js';

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
 * Turns whatever a `SecretClient.getSecret` threw into our error: no credential, no answer, a
 * certificate not trusted, or the vault's answer by status, code, inner code and the message's own
 * code (Key Vault REST reference, "Azure Key Vault REST API Error Codes" and "Common error codes";
 * the inner codes as the service sends them: ForbiddenByRbac, ForbiddenByPolicy, AccessDenied,
 * ForbiddenByFirewall, ForbiddenByConnection, SecretDisabled; the 401 messages' AKV100xx codes). A
 * refusal is matched by its message too, as older API versions send no inner code. An answer we do
 * not know keeps a generic code and carries the vault's own codes in `upstreamCode`.
 */
export function classifyKeyVaultFailure(error: unknown, read: SecretRead): VendingError {
  const where = `secret "${read.secretName}" in ${read.vaultUrl}`;
  if (error instanceof Error && CREDENTIAL_ERRORS.has(error.name)) return credentialUnavailable(where, error);
  const untrusted = untrustedCertificate(error, 'Key Vault', new URL(read.vaultUrl).host);
  if (untrusted !== undefined) return untrusted;
  if (!isRestError(error) || error.statusCode === undefined) return unreachable(where, read.timeoutMs, error);
  const { statusCode, code } = error;
  const inner = innerCode(error.details);
  const message = error.message;
  const said = `Key Vault answered ${statusCode} (${[code, inner].filter(Boolean).join('/') || 'error'}) reading ${where}: ${firstLine(message)}`;
  const upstreamCode = [code, inner].filter(Boolean).join('/') || undefined;
  const codes = new Set([code, inner].filter((c): c is string => c !== undefined));
  if (statusCode === 404)
    return secretNotFound(
      read.secretName,
      `${where} does not exist (${code ?? 'NotFound'}): ${firstLine(message)}`,
      error,
    );
  if (isRetainedDeletion(error)) {
    return secretNotFound(
      read.secretName,
      `${where} is deleted and retained (soft delete): ${firstLine(message)}`,
      error,
    );
  }
  if (codes.has('SecretDisabled') || (statusCode === 403 && /disabled secret/i.test(message))) {
    return secretDisabled(read.secretName, where, error);
  }
  if (codes.has('ForbiddenByFirewall') || /client address .*is not authorized/i.test(message)) {
    return networkRestricted(said, 'ForbiddenByFirewall', error);
  }
  if (codes.has('ForbiddenByConnection') || /public network access is disabled|approved private link/i.test(message)) {
    return networkRestricted(said, 'ForbiddenByConnection', error);
  }
  const denyAssignment = denyAssignmentOf(error);
  if (denyAssignment !== undefined) return denied(said, denyAssignment, upstreamCode, error);
  if (codes.has('ForbiddenByRbac') || (statusCode === 403 && /Assignment: \(not found\)/i.test(message)))
    return roleMissing(said, read.secretName, error);
  if (
    codes.has('ForbiddenByPolicy') ||
    codes.has('AccessDenied') ||
    (statusCode === 403 && /does not have secrets? \w+ permission/i.test(message))
  )
    return accessPolicyMissing(said, error);
  if (statusCode === 401) return unauthenticated(said, message, read, upstreamCode, error);
  if (statusCode === 403) return forbidden(said, upstreamCode, error);
  if (statusCode === 429) return throttled(said, retryAfterOf(error, read.now), error);
  if (statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 409)
    return badRequest(said, statusCode, message, upstreamCode, error);
  return unavailable(said, upstreamCode, retryAfterOf(error, read.now), error);
}

/**
 * Key Vault's 409 for a secret that is deleted and retained by soft delete ("Secret … is currently
 * in a deleted but recoverable state"): nothing can be written under its name until it is
 * recovered or purged.
 */
export function isRetainedDeletion(error: unknown): error is RestError {
  return isRestError(error) && error.statusCode === 409 && /deleted but recoverable/i.test(error.message);
}

/**
 * The deny assignment a 403 names (`DenyAssignmentId: <id>` in the message of an RBAC vault's
 * refusal; `null` when none is to blame), or `undefined`.
 */
export function denyAssignmentOf(error: unknown): string | undefined {
  if (!isRestError(error) || error.statusCode !== 403) return undefined;
  return /DenyAssignmentId:\s*(?!null\b)([^\s;]+)/i.exec(error.message)?.[1];
}

/**
 * A 401: the vault did not take the identity's token. Its message names why with an AKV code
 * (AKV10032 another tenant, AKV10022 another audience, AKV10000 no token at all, AKV10046 a
 * signing key it could not resolve) or in words (an expired or not-yet-valid token).
 */
function unauthenticated(
  said: string,
  message: string,
  read: SecretRead,
  upstreamCode: string | undefined,
  cause: unknown,
): VendingError {
  if (/AKV10032|invalid issuer/i.test(message)) return wrongTenant(said, cause);
  const audience = keyVaultScope(read.vaultUrl).replace(/\/\.default$/, '');
  if (/AKV10022|invalid audience/i.test(message)) {
    return tokenRejected(
      said,
      `The identity's token was issued for another audience than the vault's (${audience}, no trailing slash): the credential was asked for the wrong resource, or KEY_VAULT_URI names a vault in another cloud than the identity's. Use the vault of the app's cloud; a custom credential must ask for ${audience}/.default.`,
      upstreamCode,
      cause,
    );
  }
  if (/AKV10000|missing a bearer/i.test(message)) {
    return tokenRejected(
      said,
      'The request reached the vault without its token: a proxy between the app and the vault removed the Authorization header. Let the proxy pass it through to the vault unchanged.',
      upstreamCode,
      cause,
    );
  }
  if (/AKV10046|resolve the key used for signature validation/i.test(message)) {
    return unavailable(
      said,
      upstreamCode,
      5,
      cause,
      "Key Vault could not resolve the signing key of the identity's token (AKV10046), a failure on the vault's side that usually passes; if it persists, open an Azure support case for the vault with its x-ms-request-id.",
    );
  }
  if (/expired|not yet valid|lifetime/i.test(message)) {
    return tokenRejected(
      said,
      "The vault found the identity's token out of date: this machine's clock is off (check time synchronisation), or a token was reused past its expiry by a custom credential.",
      upstreamCode,
      cause,
    );
  }
  return tokenRejected(
    said,
    `The vault did not accept the identity's token (see its message). Check that the identity is in the vault's tenant and that tokens are issued for ${audience}; a role assignment will not help with a 401.`,
    upstreamCode,
    cause,
  );
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
    fix: timedOut
      ? "Check the network path to the vault: its firewall or private endpoint drops this app's packets, or a proxy holds the connection."
      : "Check KEY_VAULT_URI (the vault's name), DNS (private DNS for a private endpoint: privatelink.vaultcore.azure.net), and outbound access from this app to the vault.",
    retryAfterSeconds: 5,
    cause,
  });
}

function secretNotFound(secretName: string, diagnosis: string, cause?: unknown): VendingError {
  return new VendingError('secret_not_found', `Key Vault secret "${secretName}" not found.`, {
    detail: 'The key for this resource is not configured. The operator has been told.',
    diagnosis,
    fix: `Correct "secretName" in TOKEN_RESOURCES, or create secret "${secretName}" holding the resource's key. If it was deleted recently, Key Vault retains it (soft delete, 7 to 90 days): recover it (\`az keyvault secret recover --vault-name <vault> --name ${secretName}\`), or purge it (\`az keyvault secret purge\`) before creating it again, since creating it meanwhile fails with 409 Conflict ("currently in a deleted but recoverable state").`,
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
    fix: 'Key Vault refused for a reason it did not name with a known code: read its message in the diagnosis. If the identity lacks access, grant it "Key Vault Secrets User" on the vault or the secret (RBAC vaults) or a Get secret access policy (access-policy vaults).',
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
  fix = 'A Key Vault service problem; it usually passes. Check Azure status if it persists.',
): VendingError {
  return new VendingError('keyvault_unavailable', 'Key Vault is unavailable.', {
    detail: 'The service cannot read its keys right now. Retry shortly.',
    diagnosis,
    fix,
    retryAfterSeconds: retryAfterSeconds ?? 5,
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    cause,
  });
}

function tokenRejected(diagnosis: string, fix: string, upstreamCode: string | undefined, cause: unknown): VendingError {
  return new VendingError('keyvault_token_rejected', "Key Vault refused the identity's token.", {
    detail: NOT_ALLOWED_DETAIL,
    diagnosis,
    fix,
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    cause,
  });
}

/** An explicit deny (a deny assignment, e.g. of a managed application or deployment stack) outranks any role. */
function denied(diagnosis: string, assignment: string, upstreamCode: string | undefined, cause: unknown): VendingError {
  return new VendingError('keyvault_forbidden', 'A deny assignment blocks the identity.', {
    detail: NOT_ALLOWED_DETAIL,
    diagnosis,
    fix: `A deny assignment (${assignment}) blocks the identity on the vault, and a deny outranks any role: find it under the vault's Access control (IAM) > Deny assignments (it comes from a managed application, a deployment stack or Azure Blueprints) and exclude the identity there, or keep the secret in another vault.`,
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    cause,
  });
}

/**
 * Another 4xx: the request itself is wrong for this vault. A `BadParameter` naming the API
 * version comes from a vault whose cloud does not serve the SDK's version yet.
 */
function badRequest(
  diagnosis: string,
  status: number,
  message: string,
  upstreamCode: string | undefined,
  cause: unknown,
): VendingError {
  return new VendingError('keyvault_bad_request', 'Key Vault refused the request.', {
    detail: 'The service cannot read its keys. The operator has been told.',
    diagnosis,
    fix: /version/i.test(message)
      ? "The vault does not serve the API version the Key Vault SDK uses (a cloud that lags behind, e.g. Azure Stack Hub): use a vault in a cloud that serves it, or raise it with the vault's operator."
      : `Key Vault answered ${status} to a plain secret read: check KEY_VAULT_URI (just the vault's https origin) and "secretName", and read the vault's message in the diagnosis.`,
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
    cause,
  });
}
