import { describeError, ServiceError } from '../errors/serviceError.js';

/**
 * Why a key rotation did not happen, by stable code. These are the operator's, never a caller's:
 * a failed rotation leaves the key in use working, so no token request ever sees one (they are not
 * in `errors.ts` `ERROR_CODES`, which the HTTP answers and the OpenAPI document enumerate). The CLI,
 * the timer's `key_rotation_failed` log line and the doctor report them with a diagnosis and a fix.
 */
export const ROTATION_CODES = [
  'rotation_resource_id_missing',
  'rotation_permission_missing',
  'rotation_credential_unavailable',
  'rotation_account_not_found',
  'rotation_arm_refused',
  'rotation_arm_unavailable',
  'rotation_keyvault_unavailable',
  'rotation_secret_not_found',
  'rotation_secret_unrecognized',
  'rotation_secret_write_failed',
  'rotation_unconfirmed',
  'rotation_failed',
] as const;
export type RotationCode = (typeof ROTATION_CODES)[number];

export interface RotationErrorDetails {
  /** What happened, for the operator: may name the account, vault and secret, never a key. */
  readonly diagnosis: string;
  /** What to change. */
  readonly fix: string;
  readonly cause?: unknown;
}

/** A rotation that did not happen: always with a diagnosis and a fix. */
export class RotationError extends ServiceError<RotationCode> {
  declare readonly diagnosis: string;
  declare readonly fix: string;

  // Narrows the details: a rotation failure always says what happened and what to do.
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: RotationCode, message: string, details: RotationErrorDetails) {
    super(code, message, details);
  }
}

/** Whatever a rotation threw, as a RotationError; anything unforeseen is `rotation_failed`. */
export function ensureRotationError(error: unknown): RotationError {
  if (error instanceof RotationError) return error;
  return new RotationError('rotation_failed', 'The rotation failed unexpectedly.', {
    diagnosis: describeError(error),
    fix: 'Run `npm run rotate` again; if it keeps failing, report it with this diagnosis. The key in use still works.',
    cause: error,
  });
}

/** A resource named for rotation that has no account to rotate. */
export function resourceIdMissing(resource: string): RotationError {
  return new RotationError('rotation_resource_id_missing', `"${resource}" has no resourceId to rotate.`, {
    diagnosis: `resource "${resource}" has no "resourceId" in TOKEN_RESOURCES, so the service does not know which account's keys to regenerate; rotation was refused`,
    fix: `Add "resourceId": the ARM ID of the resource's Cognitive Services account (its Properties page, or \`az cognitiveservices account show --query id\`) to "${resource}" in TOKEN_RESOURCES.`,
  });
}

/** The identity may not do one of the steps: list or regenerate keys, or read or write the secret. */
export function permissionMissing(what: string, diagnosis: string, fix: string, cause?: unknown): RotationError {
  return new RotationError('rotation_permission_missing', `Not allowed to ${what}.`, { diagnosis, fix, cause });
}

/** The fix for a missing action on the account. */
export const ACCOUNT_ROLE_FIX =
  "Give the function's identity the actions Microsoft.CognitiveServices/accounts/listKeys/action and .../regenerateKey/action on the account (the Bicep in infra/ creates a custom role with exactly these when keyRotationDays > 0); a new role assignment can take a few minutes to apply.";

/** The fix for a missing role on the secret. */
export const SECRET_ROLE_FIX =
  'Give the function\'s identity "Key Vault Secrets Officer" on the secret (the Bicep in infra/ assigns it on each key\'s secret when keyRotationDays > 0); a new role assignment can take a few minutes to apply.';

/** No token for `target` (ARM or Key Vault), or ARM refused the one it got (401). */
export function credentialUnavailable(target: string, cause: unknown): RotationError {
  const first = cause instanceof Error ? (cause.message.split(/\r?\n/)[0] ?? '') : String(cause);
  return new RotationError('rotation_credential_unavailable', `No Azure credential for ${target}.`, {
    diagnosis: `could not get a token for ${target}: ${first}`,
    fix: 'In Azure, give the function app its managed identity (and AZURE_CLIENT_ID for a user-assigned one); locally, run `az login` as an identity with the rotation roles.',
    cause,
  });
}

/** ARM answered 404 for the account: `resourceId` names no account. */
export function accountNotFound(resourceId: string, armCode: string, cause?: unknown): RotationError {
  return new RotationError('rotation_account_not_found', 'The account in resourceId does not exist.', {
    diagnosis: `Azure Resource Manager answered 404 (${armCode}) for ${resourceId}`,
    fix: 'Correct "resourceId" in TOKEN_RESOURCES: the account\'s ARM ID (subscription, resource group and name), as `az cognitiveservices account show --query id` prints it.',
    cause,
  });
}

/** ARM refused the request for a reason other than permission (a lock, key auth disabled, a 400/409). */
export function armRefused(
  operation: string,
  resourceId: string,
  status: number,
  armCode: string,
  message: string,
): RotationError {
  const fix =
    armCode === 'ScopeLocked'
      ? 'A ReadOnly lock on the account, its resource group or subscription blocks every key operation: remove the lock, or exempt this account.'
      : /disableLocalAuth|local auth/i.test(message)
        ? 'The account has key authentication disabled (disableLocalAuth), so it has no keys to rotate and the service cannot exchange one either: enable local auth, or remove the resource.'
        : 'See the diagnosis: Azure Resource Manager refused the request. Correct the account or its settings, then run `npm run rotate` again.';
  return new RotationError('rotation_arm_refused', `Azure Resource Manager refused ${operation}.`, {
    diagnosis: `${operation} on ${resourceId}: Azure Resource Manager answered ${status} (${armCode}): ${message}`,
    fix,
  });
}

/** ARM did not answer in time, answered 429/5xx after retries, or answered without both keys. */
export function armUnavailable(operation: string, resourceId: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_arm_unavailable', 'Azure Resource Manager did not answer as expected.', {
    diagnosis: `${operation} on ${resourceId}: ${what}`,
    fix: 'Usually passing: the next scheduled run tries again (or run `npm run rotate` again). The key in use still works; if it persists, check outbound access to Azure Resource Manager and Azure status.',
    cause,
  });
}

/** Key Vault could not be read: nothing has been changed yet. */
export function keyVaultUnavailable(where: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_keyvault_unavailable', 'Key Vault could not be read.', {
    diagnosis: `reading ${where}: ${what}`,
    fix: "Usually passing: the next scheduled run tries again. Nothing was changed; the key in use still works. If it persists, check KEY_VAULT_URI and the vault's network rules.",
    cause,
  });
}

/** The secret to rotate is missing, disabled or empty; rotation never creates one. */
export function secretNotFound(where: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_secret_not_found', 'The secret to rotate does not exist or is disabled.', {
    diagnosis: `${where} ${what}; rotation writes new versions of an existing secret and never creates one`,
    fix: 'Create the secret with one of the account\'s keys (the deployment in infra/ writes the first version), or correct "secretName" in TOKEN_RESOURCES.',
    cause,
  });
}

/** The secret holds neither of the account's keys, so which one is in use is unknown. */
export function secretUnrecognized(where: string, resourceId: string, tagged: string | null): RotationError {
  return new RotationError('rotation_secret_unrecognized', "The secret holds neither of the account's keys.", {
    diagnosis: `${where} holds a key that is neither key1 nor key2 of ${resourceId}${tagged === null ? '' : ` (its keyName tag says ${tagged})`}; nothing was regenerated, since the service cannot tell which key is in use`,
    fix: 'Run `npm run doctor`: the key in the secret is probably rejected already. Store one of the account\'s current keys in the secret (or redeploy), or correct "resourceId".',
  });
}

/** A regenerated key could not be stored; the secret still holds the key in use. */
export function secretWriteFailed(where: string, keyName: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_secret_write_failed', 'The new key could not be stored.', {
    diagnosis: `writing ${where}: ${what}; ${keyName} was regenerated but not stored, so nobody uses it, and the secret still holds the key in use, which works`,
    fix: "Usually passing: the next scheduled run regenerates that key again and stores it. If it persists, check the vault (network rules, status) and the identity's role on the secret.",
    cause,
  });
}

/** The secret kept changing while a write was checked: another rotator at work. */
export function unconfirmed(where: string, what: string): RotationError {
  return new RotationError('rotation_unconfirmed', 'The secret kept changing during the rotation.', {
    diagnosis: `${where}: ${what}`,
    fix: 'Another rotator (the timer on an instance, or `npm run rotate` elsewhere) changed the secret at the same time. Run `npm run doctor` to see that the key in use works, then `npm run rotate` again.',
  });
}
