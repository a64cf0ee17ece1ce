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
  'rotation_lease_held',
  'rotation_lease_lost',
  'rotation_lease_unavailable',
  'rotation_conflict',
  'rotation_new_key_invalid',
  'rotation_secret_dead',
  'rotation_repair_unverified',
  'rotation_leak_pending',
  'rotation_failed',
] as const;
export type RotationCode = (typeof ROTATION_CODES)[number];

/** Where to read about the lease, the pending step and what to do: docs/key-rotation-safety.md. */
const SAFETY_DOC = 'docs/key-rotation-safety.md';

export interface RotationErrorDetails {
  /** What happened, for the operator: may name the account, vault and secret, never a key. */
  readonly diagnosis: string;
  /** What to change (for a passing failure: what to check if it persists). */
  readonly fix: string;
  /** A failure that usually passes (an upstream down or slow): running again is the first thing to do. */
  readonly passing?: boolean;
  readonly cause?: unknown;
}

/** A rotation that did not happen: always with a diagnosis and a fix. */
export class RotationError extends ServiceError<RotationCode> {
  declare readonly diagnosis: string;
  declare readonly fix: string;
  readonly passing: boolean;

  constructor(code: RotationCode, message: string, details: RotationErrorDetails) {
    super(code, message, details);
    this.passing = details.passing ?? false;
  }
}

/** Who runs a rotation: what to do about a passing failure depends on it. */
export type RotationRunner = 'timer' | 'operator';

/**
 * The whole fix for the one who ran the rotation: for a passing failure, first when it is tried
 * again (the timer's next run, or the operator now), then what to check if it persists.
 */
export function fixFor(failure: RotationError, runner: RotationRunner): string {
  if (!failure.passing) return failure.fix;
  const again =
    runner === 'timer'
      ? 'Usually passing: the next scheduled run tries again.'
      : 'Usually passing: run `npm run rotate` again in a few minutes.';
  return `${again} ${failure.fix}`;
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
    fix: 'The key in use still works; if it persists, check outbound access to Azure Resource Manager and Azure status.',
    passing: true,
    cause,
  });
}

/** Key Vault could not be read: nothing has been changed yet. */
export function keyVaultUnavailable(where: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_keyvault_unavailable', 'Key Vault could not be read.', {
    diagnosis: `reading ${where}: ${what}`,
    fix: "Nothing was changed; the key in use still works. If it persists, check KEY_VAULT_URI and the vault's network rules.",
    passing: true,
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

/**
 * The secret holds neither of the account's keys, yet the token service accepts it: a key of
 * another account, so `resourceId` is probably wrong. Nothing is regenerated or stored.
 */
export function secretUnrecognized(where: string, resourceId: string, tagged: string | null): RotationError {
  return new RotationError('rotation_secret_unrecognized', "The secret holds neither of the account's keys.", {
    diagnosis: `${where} holds a key that is neither key1 nor key2 of ${resourceId}${tagged === null ? '' : ` (its keyName tag says ${tagged})`}, and the token service accepts it, so it is another account's key; nothing was regenerated or stored`,
    fix: 'Correct "resourceId" in TOKEN_RESOURCES: it must name the account whose key the secret holds (`az cognitiveservices account show --query id`). Rotating or repairing with the wrong account would replace a working key.',
  });
}

/**
 * A new version could not be written. What that left behind is not said here: the rotation reads
 * the secret and the account's keys again and adds what it found (`keyRotation.ts`).
 */
export function secretWriteFailed(where: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_secret_write_failed', 'The new key could not be stored.', {
    diagnosis: `writing ${where}: ${what}`,
    fix: "If it persists, check the vault (network rules, status) and the identity's role on the secret.",
    passing: true,
    cause,
  });
}

/** After a failure that followed a change, the secret could not be read: what it holds is unknown. */
export function unconfirmed(resource: string, diagnosis: string): RotationError {
  return new RotationError('rotation_unconfirmed', 'What the secret holds after the failure is unknown.', {
    diagnosis,
    fix: `Run \`npm run doctor\` to see whether the key in the secret works, then \`npm run rotate -- --resource ${resource} --repair\`, which stores the account's working key if it does not (see ${SAFETY_DOC}).`,
  });
}

/** Who holds a rotation lease, from the lease blob's metadata. */
export interface LeaseHolderInfo {
  /** E.g. `npm run rotate on host build-7 pid 4242`, `key-rotation timer on instance 3f1c…`. */
  readonly holder: string;
  /** When it took the lease, ISO 8601. */
  readonly since: string;
  /** The mode it runs in: due, now, leaked, repair. */
  readonly mode: string;
}

/** Another rotator holds the account's lease. */
export function leaseHeld(account: string, holder: LeaseHolderInfo | undefined, lease: string): RotationError {
  const who =
    holder === undefined
      ? 'a holder that has not said who it is yet'
      : `${holder.holder}, since ${holder.since}, mode ${holder.mode}`;
  return new RotationError('rotation_lease_held', 'Another rotator is at work on this account.', {
    diagnosis: `the rotation lease of ${account} is held by ${who}`,
    fix: `Run again once it has finished: a rotator renews the lease while it works and releases it at the end, and one that was killed loses it within 60 seconds. The holder is in the metadata of the lease blob ${lease} (see ${SAFETY_DOC}).`,
  });
}

/** The lease could not be renewed before a change: another rotator may have it now. */
export function leaseLost(account: string, what: string, cause?: unknown): RotationError {
  return new RotationError('rotation_lease_lost', 'The rotation lease was lost during the run.', {
    diagnosis: `the rotation lease of ${account} could not be renewed (${what}); the run stopped before its next change`,
    fix: 'This run stalled for more than the lease (60 seconds), or the storage account could not be reached; another rotator may have taken over. Run `npm run doctor` to see that the key in use works, then `npm run rotate` again.',
    cause,
  });
}

/** The lease's storage is not configured, not reachable, or refuses the identity: nothing was changed. */
export function leaseUnavailable(what: string, fix?: string, cause?: unknown): RotationError {
  return new RotationError('rotation_lease_unavailable', 'The rotation lease could not be taken.', {
    diagnosis: `${what}; nothing was changed`,
    fix:
      fix ??
      "If it persists, check the storage account's status and network rules (AzureWebJobsStorage__accountName or __blobServiceUri).",
    passing: fix === undefined,
    cause,
  });
}

/** Neither `AzureWebJobsStorage__blobServiceUri` nor `__accountName`: no lease, so no rotation. */
export function leaseNotConfigured(): RotationError {
  return leaseUnavailable(
    'no storage account for the rotation lease: neither AzureWebJobsStorage__blobServiceUri nor AzureWebJobsStorage__accountName is set, and rotators are kept one at a time by a blob lease',
    "In Azure the function app has AzureWebJobsStorage__accountName (the Bicep in infra/ sets it). To rotate from elsewhere, set AzureWebJobsStorage__accountName (or __blobServiceUri) in local.settings.json to the app's storage account, and give your identity Storage Blob Data Contributor on it.",
  );
}

/** The secret or the account's keys moved between this run's decision and its change. */
export function conflict(diagnosis: string): RotationError {
  return new RotationError('rotation_conflict', "The secret or the account's keys changed during the run.", {
    diagnosis,
    fix: `Another rotator changed them: one working without the lease, or one that took over after this run stalled past it. Run \`npm run doctor\` to see that the key in use works, then \`npm run rotate\` again (see ${SAFETY_DOC}).`,
  });
}

/** regenerateKey answered a "new" key that is the old one, or the other key: it is never stored. */
export function newKeyInvalid(resourceId: string, keyName: string, what: string): RotationError {
  return new RotationError('rotation_new_key_invalid', 'regenerateKey answered a key that is not new.', {
    diagnosis: `regenerateKey ${keyName} on ${resourceId}: ${what}; it was not stored`,
    fix: 'Check what answers for Azure Resource Manager (ARM_ENDPOINT, a proxy on the way): a real regeneration always answers a fresh key. Then run `npm run rotate` again.',
  });
}

/**
 * The secret holds a key the account no longer has, and storing a working one failed. `cause`: the
 * failure that kept it so; its fix comes first when it is a missing role or credential.
 */
export function secretDead(resource: string, diagnosis: string, cause?: RotationError): RotationError {
  const fix = `Callers get 502 key_rejected once their cached token runs out. As soon as Key Vault takes writes again run \`npm run rotate -- --resource ${resource} --repair\`; the key-rotation timer also repairs it on its next run (see ${SAFETY_DOC}).`;
  const first =
    cause?.code === 'rotation_permission_missing' || cause?.code === 'rotation_credential_unavailable'
      ? `${cause.fix} Then: `
      : '';
  return new RotationError('rotation_secret_dead', 'The secret holds a key the account no longer has.', {
    diagnosis,
    fix: `${first}${fix}`,
    cause,
  });
}

/** The secret holds a dead key, and no key of the account could be confirmed at the token service. */
export function repairUnverified(diagnosis: string, cause?: unknown): RotationError {
  return new RotationError(
    'rotation_repair_unverified',
    'No key of the account could be confirmed at the token service.',
    {
      diagnosis: `${diagnosis}; nothing was stored`,
      fix: 'If the token service could not be reached, run `npm run rotate -- --repair` again later. If it rejects the account\'s keys, "resourceId" names another account than the resource\'s endpoint and region: correct one or the other.',
      cause,
    },
  );
}

/** A --leaked rotation stored the new key but never regenerated the suspected leaked one. */
export function leakPending(
  where: string,
  held: string,
  pending: string,
  since: string,
  resource: string,
): RotationError {
  return new RotationError('rotation_leak_pending', 'A --leaked rotation did not finish: the leaked key still works.', {
    diagnosis: `${where} holds ${held}, stored by a --leaked rotation at ${since}, but ${pending}, the suspected leaked key, was never regenerated and still works`,
    fix: `The key-rotation timer finishes it on its next run; to finish it now run \`npm run rotate -- --resource ${resource} --repair\` (see ${SAFETY_DOC}).`,
  });
}
