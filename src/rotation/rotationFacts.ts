import type { KeyName, TokenResource } from '../model.js';
import type { Rotation } from './keyRotation.js';
import type { RotationError } from './rotationError.js';
import { nextRotationAt, rotationStateOf } from './rotationState.js';
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

export type RotationCheck =
  | { readonly ok: true; readonly facts: RotationFacts; readonly summary: string }
  | { readonly ok: false; readonly failure: RotationError };

/**
 * The rotation facts of a resource that has a `resourceId`, from the secret version the doctor
 * read; while scheduled rotation is on, also whether the identity may do every step of it (the
 * account's effective permissions, an unchanged write of the version's tags), so a missing role
 * shows here before a scheduled rotation fails.
 */
export async function checkRotation(
  resource: TokenResource,
  context: { readonly now: () => number; readonly rotation: Rotation; readonly periodDays: number },
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
  if (periodDays > 0) {
    const missing = await context.rotation.checkPermissions(resource, secret);
    if (missing !== undefined) return { ok: false, failure: missing };
  }
  const key = facts.keyName ?? 'the key in use (untagged)';
  const age = facts.ageDays === null ? '' : `, ${facts.ageDays} days old`;
  const due = facts.nextRotationAt === null ? 'scheduled rotation off' : `next rotation ${facts.nextRotationAt}`;
  return { ok: true, facts, summary: `${key}${age}; ${due}` };
}
