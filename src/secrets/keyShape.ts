/** What a resource key is expected to look like; checked before a key is ever sent anywhere. */
export type KeyShape = 'classic' | 'current' | 'subscription_id' | 'malformed';

const CLASSIC_KEY = /^[0-9a-f]{32}$/i;
const CURRENT_KEY = /^[0-9A-Za-z]{84}$/;
const GUID = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;

export function keyShape(key: string): KeyShape {
  if (CLASSIC_KEY.test(key)) return 'classic';
  if (CURRENT_KEY.test(key)) return 'current';
  if (GUID.test(key.trim())) return 'subscription_id';
  return 'malformed';
}

/** Enough to tell two keys apart in a diagnosis, never enough to use one. */
export function describeKey(key: string): string {
  return `${key.length} characters, ending "…${key.length >= 16 ? key.slice(-4) : ''}"`;
}
