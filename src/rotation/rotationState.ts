import { z } from 'zod';
import { KEY_NAMES, ROTATION_MARGIN_MS, type KeyName } from '../model.js';

/**
 * Where a rotation keeps its state: on the secret's latest version, as tags. `keyName` is the
 * account key the version holds (`key1` | `key2`), `rotatedAt` when it became the key in use (ISO
 * 8601), which is also when the other key stopped being used. The deployment writes the first
 * version with the same tags.
 */
export const ROTATION_TAGS = { keyName: 'keyName', rotatedAt: 'rotatedAt' } as const;

const tagsSchema = z.object({ keyName: z.enum(KEY_NAMES).optional(), rotatedAt: z.iso.datetime().optional() });

/** What a secret version says about the rotation. */
export interface RotationState {
  /** The key the version holds, by its tag; `null` without one (the account tells, by value). */
  readonly keyName: KeyName | null;
  /**
   * When the version's key became the one in use, epoch ms: its `rotatedAt` tag, else (a version
   * written by hand, or before rotation was on) its creation time, which is never earlier.
   */
  readonly since: number | null;
}

/** The rotation state of a version, from its tags and creation time (epoch ms). */
export function rotationStateOf(version: {
  readonly tags: Readonly<Record<string, string>>;
  readonly createdOn: number | undefined;
}): RotationState {
  const parsed = tagsSchema.safeParse(version.tags);
  const tags = parsed.success ? parsed.data : {};
  const rotatedAt = tags.rotatedAt === undefined ? undefined : Date.parse(tags.rotatedAt);
  return { keyName: tags.keyName ?? null, since: rotatedAt ?? version.createdOn ?? null };
}

/** The tags of a version that holds `keyName` from `at` (epoch ms). */
export function rotationTags(keyName: KeyName, at: number): Record<string, string> {
  return { [ROTATION_TAGS.keyName]: keyName, [ROTATION_TAGS.rotatedAt]: new Date(at).toISOString() };
}

/** The account's other key. */
export function otherKey(keyName: KeyName): KeyName {
  return keyName === 'key1' ? 'key2' : 'key1';
}

/** When the next scheduled rotation is due (epoch ms), or `null` when rotation is off or the age is unknown. */
export function nextRotationAt(state: RotationState, periodDays: number): number | null {
  if (periodDays <= 0 || state.since === null) return null;
  return state.since + periodDays * 86_400_000;
}

/**
 * From when the key that is not in use may be regenerated without an instance still holding it
 * (epoch ms): instances read the secret again at least every `secretMaxAgeMs`, plus a margin.
 */
export function otherKeyFreeAt(state: RotationState, secretMaxAgeMs: number): number {
  return (state.since ?? 0) + secretMaxAgeMs + ROTATION_MARGIN_MS;
}
