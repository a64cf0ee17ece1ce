import { z } from 'zod';
import { KEY_NAMES, ROTATION_MARGIN_MS, type KeyName } from '../model.js';

/**
 * Where a rotation keeps its state: on the secret's latest version, as tags. `keyName` is the
 * account key the version holds (`key1` | `key2`), `rotatedAt` when it became the key in use (ISO
 * 8601), which is also when the other key stopped being used. The deployment writes the first
 * version with the same tags. `regeneratePending` names a key that must still be regenerated: a
 * `--leaked` rotation writes it with the new key and removes it once the suspected leaked key is
 * regenerated, so a run killed in between leaves a mark the timer finishes and the doctor reports.
 */
export const ROTATION_TAGS = {
  keyName: 'keyName',
  rotatedAt: 'rotatedAt',
  regeneratePending: 'regeneratePending',
} as const;

const tagsSchema = z.object({
  keyName: z.enum(KEY_NAMES).optional(),
  rotatedAt: z.iso.datetime().optional(),
  regeneratePending: z.enum(KEY_NAMES).optional(),
});

/**
 * How long a `regeneratePending` tag may stand before the doctor calls the `--leaked` run that wrote
 * it interrupted (ms): a run regenerates the key within seconds of writing the tag.
 */
export const PENDING_GRACE_MS = 10 * 60_000;

/** What a secret version says about the rotation. */
export interface RotationState {
  /** The key the version holds, by its tag; `null` without one (the account tells, by value). */
  readonly keyName: KeyName | null;
  /**
   * When the version's key became the one in use, epoch ms: its `rotatedAt` tag, else (a version
   * written by hand, or before rotation was on) its creation time, which is never earlier.
   */
  readonly since: number | null;
  /** The key a `--leaked` rotation still has to regenerate (`regeneratePending`), or `null`. */
  readonly pending: KeyName | null;
}

/** The rotation state of a version, from its tags and creation time (epoch ms). */
export function rotationStateOf(version: {
  readonly tags: Readonly<Record<string, string>>;
  readonly createdOn: number | undefined;
}): RotationState {
  const parsed = tagsSchema.safeParse(version.tags);
  const tags = parsed.success ? parsed.data : {};
  const rotatedAt = tags.rotatedAt === undefined ? undefined : Date.parse(tags.rotatedAt);
  return {
    keyName: tags.keyName ?? null,
    since: rotatedAt ?? version.createdOn ?? null,
    pending: tags.regeneratePending ?? null,
  };
}

/** The tags of a version that holds `keyName` from `at` (epoch ms), with `pending` still to regenerate. */
export function rotationTags(keyName: KeyName, at: number, pending?: KeyName): Record<string, string> {
  return {
    [ROTATION_TAGS.keyName]: keyName,
    [ROTATION_TAGS.rotatedAt]: new Date(at).toISOString(),
    ...(pending === undefined ? {} : { [ROTATION_TAGS.regeneratePending]: pending }),
  };
}

/** The tags without the `regeneratePending` mark. */
export function withoutPending(tags: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([name]) => name !== ROTATION_TAGS.regeneratePending));
}

/** The account's other key. */
export function otherKey(keyName: KeyName): KeyName {
  return keyName === 'key1' ? 'key2' : 'key1';
}

/** When the next scheduled rotation is due (epoch ms), or `null` when rotation is off or the age is unknown. */
export function nextRotationAt(state: Pick<RotationState, 'keyName' | 'since'>, periodDays: number): number | null {
  if (periodDays <= 0 || state.since === null) return null;
  return state.since + periodDays * 86_400_000;
}

/**
 * From when the key that is not in use may be regenerated without an instance still holding it
 * (epoch ms): instances read the secret again at least every `secretMaxAgeMs`, plus a margin.
 */
export function otherKeyFreeAt(state: Pick<RotationState, 'keyName' | 'since'>, secretMaxAgeMs: number): number {
  return (state.since ?? 0) + secretMaxAgeMs + ROTATION_MARGIN_MS;
}
