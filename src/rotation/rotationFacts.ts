import type { KeyName, TokenResource } from '../model.js';
import type { Logger } from '../log/logger.js';
import { EVENTS } from '../telemetry/names.js';
import type { Rotation } from './keyRotation.js';
import { leakPending, leaseNotConfigured, type RotationError } from './rotationError.js';
import { nextRotationAt, PENDING_GRACE_MS, rotationStateOf } from './rotationState.js';
import type { SecretValue } from '../secrets/keyVaultSecretSource.js';

/** What the doctor says about a rotated resource's key. Never the key. */
export interface RotationFacts {
  /** The account key the secret holds, by its `keyName` tag; `null` for a version without the tag. */
  readonly keyName: KeyName | null;
  /** When it became the key in use (its `rotatedAt` tag, else when the version was written), ISO 8601. */
  readonly since: string | null;
  /** Whole days since then. */
  readonly ageDays: number | null;
  /** When the next scheduled rotation is due, ISO 8601; `null` while KEY_ROTATION_DAYS is 0. */
  readonly nextRotationAt: string | null;
}

/** What the rotation facts are read with: the instance's clock, rotation and settings. */
export interface RotationFactsContext {
  readonly now: () => number;
  readonly logger: Logger;
  readonly rotation: Rotation;
  /** `KEY_ROTATION_DAYS`; 0 = scheduled rotation off. */
  readonly periodDays: number;
  /** The vault the secrets are in, for diagnoses. */
  readonly keyVaultUri: string;
  /** Whether the rotation lease's storage is configured (`AzureWebJobsStorage__blobServiceUri` or `__accountName`). */
  readonly leaseConfigured: boolean;
}

export type RotationCheck =
  | { readonly ok: true; readonly facts: RotationFacts; readonly summary: string }
  | { readonly ok: false; readonly failure: RotationError };

/**
 * The rotation facts of a resource that has a `resourceId`, from the secret version the doctor
 * read. With `checkPermissions` (the doctor's own run, never the self-check's) while scheduled
 * rotation is on, also whether the identity may do every step of it (the account's effective
 * permissions, an unchanged write of the version's tags), so a missing role shows before a
 * scheduled rotation fails; without it nothing is called or written. A version still marked
 * `regeneratePending` longer than PENDING_GRACE_MS after its `--leaked` rotation stored it is
 * `rotation_leak_pending`, logged as `key_rotation_incomplete` (alerted on): the suspected leaked
 * key still works.
 */
export async function checkRotation(
  resource: TokenResource,
  context: RotationFactsContext & { readonly checkPermissions: boolean },
  secret: SecretValue,
): Promise<RotationCheck> {
  const { periodDays } = context;
  const state = rotationStateOf(secret);
  const next = nextRotationAt(state, periodDays);
  const facts: RotationFacts = {
    keyName: state.keyName,
    since: state.since === null ? null : new Date(state.since).toISOString(),
    ageDays: state.since === null ? null : Math.floor((context.now() - state.since) / 86_400_000),
    nextRotationAt: next === null ? null : new Date(next).toISOString(),
  };
  const key = facts.keyName ?? 'the key in use (untagged)';
  if (state.pending !== null && context.now() - (state.since ?? 0) >= PENDING_GRACE_MS) {
    const failure = leakPending(
      `secret "${resource.secretName}" in ${context.keyVaultUri}`,
      key,
      state.pending,
      facts.since ?? 'an unknown time',
      resource.name,
    );
    context.logger.error(EVENTS.keyRotationIncomplete, {
      resource: resource.name,
      code: failure.code,
      diagnosis: failure.diagnosis,
      fix: failure.fix,
    });
    return { ok: false, failure };
  }
  if (periodDays > 0 && !context.leaseConfigured) return { ok: false, failure: leaseNotConfigured() };
  if (context.checkPermissions && periodDays > 0) {
    const missing = await context.rotation.checkPermissions(resource, secret);
    if (missing !== undefined) return { ok: false, failure: missing };
  }
  const age = facts.ageDays === null ? '' : `, ${facts.ageDays} days old`;
  const due = facts.nextRotationAt === null ? 'scheduled rotation off' : `next rotation ${facts.nextRotationAt}`;
  const leak = state.pending === null ? '' : `; a --leaked rotation is regenerating ${state.pending}`;
  return { ok: true, facts, summary: `${key}${age}; ${due}${leak}` };
}
