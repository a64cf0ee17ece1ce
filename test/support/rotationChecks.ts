import { expect } from 'vitest';
import type { FakeSecretVersion } from '../../devstack/fakes/keyVault.js';
import type { Rotation } from '../../src/rotation/keyRotation.js';
import { ACCOUNT_IDS, buildInstance, type RotationHarness } from './harness.js';

const JAPANWEST_STS = 'https://japanwest.api.cognitive.microsoft.com/sts/v1.0/issueToken';

/** The rotation of the harness's own instance. */
export function rotationOf(h: RotationHarness): Rotation {
  return h.parts.rotation;
}

/** Another instance of the service against the same fakes and clock, with its own rotation. */
export function anotherInstance(h: RotationHarness): Rotation {
  const { parts } = buildInstance(h.env, h.dependencies);
  if (parts instanceof Error) throw parts;
  return parts.rotation;
}

/** Whether the STS accepts a key at the speech resource's regional host. */
export async function stsAccepts(h: RotationHarness, key: string): Promise<boolean> {
  const answer = await h.cognitive.fetch(JAPANWEST_STS, {
    method: 'POST',
    headers: { 'Ocp-Apim-Subscription-Key': key },
  });
  await answer.body?.cancel();
  return answer.status === 200;
}

/** The latest version of a secret in the vault fake. */
export function latestVersion(h: RotationHarness, name = 'speech-key'): FakeSecretVersion {
  const version = h.vault.versions(name).at(-1);
  if (version === undefined) throw new Error(`no secret ${name}`);
  return version;
}

/** Whether the speech secret holds a key its account still has (and so the STS accepts). */
export function holdsLiveKey(h: RotationHarness): boolean {
  const keys = h.arm.keys(ACCOUNT_IDS.speech);
  const { value } = latestVersion(h);
  return value === keys.key1 || value === keys.key2;
}

/** The speech secret holds a key its account has, tagged with that key's name, and the STS accepts it. */
export async function expectLive(h: RotationHarness): Promise<void> {
  const keys = h.arm.keys(ACCOUNT_IDS.speech);
  const stored = latestVersion(h);
  expect([keys.key1, keys.key2]).toContain(stored.value);
  expect(stored.value).toBe(keys[stored.tags.keyName as 'key1' | 'key2']);
  expect(await stsAccepts(h, stored.value)).toBe(true);
}
