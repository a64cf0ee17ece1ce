import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/doctor/diagnose.js';
import {
  expectNoKeys,
  IDENTITY_CLIENT_ID,
  ROTATED_RESOURCES,
  startRotationHarness,
  type RotationHarness,
} from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';
import { rotationOf } from '../support/rotationChecks.js';
import { EAST_KEY, EAST_STS, speechToken, WEST_STS } from './support.js';

// Key rotation per failover member: a fallback with its own resourceId is an account of its own,
// whose key is rotated into its own secret, and the doctor reports its rotation facts.

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;
const EAST_ACCOUNT =
  '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai-east/providers/Microsoft.CognitiveServices/accounts/speech-jpe';

let h: RotationHarness;
const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
  h.arm.addAccount(EAST_ACCOUNT, { cloud: 'AzureCloud', region: 'japaneast' }, { key1: EAST_KEY });
  h.vault.setSecret('speech-east-key', EAST_KEY, { tags: { keyName: 'key1', rotatedAt: new Date(T0).toISOString() } });
  const [speech, ...rest] = ROTATED_RESOURCES;
  h.rebuild({
    TOKEN_RESOURCES: JSON.stringify([
      { ...speech, failover: [{ region: 'japaneast', secretName: 'speech-east-key', resourceId: EAST_ACCOUNT }] },
      ...rest,
    ]),
  });
});
afterEach(async () => {
  expectNoKeys(h.logText(), [EAST_KEY, ...h.arm.everyKey()]);
  await h.close();
});

const latest = (name: string) => h.vault.versions(name).at(-1);

describe('key rotation of failover members', () => {
  it("a scheduled run rotates each member's own account into its own secret; the fallback serves with its new key", async () => {
    h.clock.now = T0 + 30 * DAY;
    const outcomes = await rotationOf(h).run({ mode: 'due' });
    expect(outcomes.map((o) => [o.resource, o.action])).toEqual(
      expect.arrayContaining([
        ['speech', 'rotated'],
        ['speech.failover[0]', 'rotated'],
      ]),
    );
    const east = h.arm.keys(EAST_ACCOUNT);
    expect(latest('speech-east-key')).toMatchObject({ value: east.key2, tags: { keyName: 'key2' } });
    expect(east.key1).toBe(EAST_KEY);

    h.cognitive.script(WEST_STS, { status: 503 });
    const answer = await speechToken(h);
    expect(answer.region).toBe('japaneast');
    expect(h.cognitive.calls.filter((c) => c.host === EAST_STS).at(-1)?.keyLast4).toBe(east.key2.slice(-4));
  });

  it('--resource names one member: only its account is rotated', async () => {
    h.clock.now = T0 + DAY;
    const before = h.arm.keys(ACCOUNT_OF_SPEECH());
    const outcomes = await rotationOf(h).run({ mode: 'now', resource: 'speech.failover[0]' });
    expect(outcomes.map((o) => [o.resource, o.action])).toEqual([['speech.failover[0]', 'rotated']]);
    expect(h.arm.keys(ACCOUNT_OF_SPEECH())).toEqual(before);
    expect(h.arm.keys(EAST_ACCOUNT).key2).toBe(latest('speech-east-key')?.value);
  });

  it("the doctor reports each member's rotation facts", async () => {
    const findings = await diagnose(h.env, { ...h.dependencies, sleep: () => Promise.resolve() });
    const east = findings.find((f) => f.resource === 'speech.failover[0]');
    expect(east).toMatchObject({ ok: true, rotation: { keyName: 'key1', nextRotationAt: '2026-12-31T00:00:00.000Z' } });
    expect(findings.find((f) => f.resource === 'speech')?.rotation).toMatchObject({ keyName: 'key1' });
  });
});

function ACCOUNT_OF_SPEECH(): string {
  const speech = ROTATED_RESOURCES[0] as { resourceId?: string };
  if (speech.resourceId === undefined) throw new Error('speech has no resourceId');
  return speech.resourceId;
}
