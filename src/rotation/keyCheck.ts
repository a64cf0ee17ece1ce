import type { TokenResource } from '../model.js';

/**
 * Whether the resource's upstream accepts `key` (its kind's `checkKey`: for the STS kinds an
 * exchange at its `issueToken`, the token thrown away): `true`, or `false` for a rejection. Any
 * other failure (unreachable, 5xx, timeout) throws `rotation_repair_unverified`: the rotation then
 * changes nothing on this evidence.
 */
export type KeyCheck = (resource: TokenResource, key: string) => Promise<boolean>;
