import { GUID_PATTERN } from '../model.js';

/** What a resource key is expected to look like; checked before a key is ever sent anywhere. */
export type KeyShape = 'classic' | 'current' | 'subscription_id' | 'malformed';

const CLASSIC_KEY = /^[0-9a-f]{32}$/i;
const CURRENT_KEY = /^[0-9A-Za-z]{84}$/;
const BRACED_GUID = new RegExp(`^\\{?${GUID_PATTERN}\\}?$`, 'i');

export function keyShape(key: string): KeyShape {
  if (CLASSIC_KEY.test(key)) return 'classic';
  if (CURRENT_KEY.test(key)) return 'current';
  if (BRACED_GUID.test(key.trim())) return 'subscription_id';
  return 'malformed';
}

/** Enough to tell two keys apart in a diagnosis, never enough to use one. */
export function describeKey(key: string): string {
  return `${key.length} characters, ending "…${key.length >= 16 ? key.slice(-4) : ''}"`;
}

/** A secret's value read as a key: surrounding whitespace removed, and what was removed. */
export interface ReadKey {
  readonly key: string;
  /** What was trimmed, for the operator ("a trailing newline"), or `undefined` when nothing was. */
  readonly trimmed: string | undefined;
}

/**
 * The one reading of a stored key, for the service and the doctor alike. Whitespace around it (a
 * newline from `az keyvault secret set --file`, a copied line) is not part of any key, so it is
 * removed and reported; anything else that is not a key (quotes, inner spaces, a GUID) is left as
 * it is, for `keyShape` to refuse.
 */
export function readKey(stored: string): ReadKey {
  const key = stored.trim();
  if (key === stored) return { key, trimmed: undefined };
  const leading = stored.slice(0, stored.length - stored.trimStart().length);
  const trailing = stored.slice(stored.trimEnd().length);
  const parts = [
    leading && `leading ${describeWhitespace(leading)}`,
    trailing && `trailing ${describeWhitespace(trailing)}`,
  ];
  return { key, trimmed: parts.filter(Boolean).join(' and ') };
}

function describeWhitespace(text: string): string {
  const names = Array.from(text, (c) =>
    c === '\n' ? 'newline' : c === '\r' ? 'carriage return' : c === '\t' ? 'tab' : 'space',
  );
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, count]) => (count === 1 ? `a ${name}` : `${count} ${name}s`)).join(', ');
}
