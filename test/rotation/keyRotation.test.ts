import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTimers } from '../../src/functions/timers.js';
import type { RotationOutcome, RotationRunOptions } from '../../src/rotation/keyRotation.js';
import {
  ACCOUNT_IDS,
  expectNoKeys,
  IDENTITY_CLIENT_ID,
  KEYS,
  startRotationHarness,
  type RotationHarness,
} from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';
import {
  anotherInstance,
  expectLive,
  latestVersion,
  rotationOf,
  stsAccepts as accepts,
} from '../support/rotationChecks.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

let h: RotationHarness;

const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
});
afterEach(async () => {
  // No key in any log line: the test keys and every key the ARM fake made up.
  expectNoKeys(h.logText(), h.arm.everyKey());
  await h.close();
});

async function rotate(options: RotationRunOptions): Promise<RotationOutcome[]> {
  const outcomes = await rotationOf(h).run(options);
  expectNoKeys(JSON.stringify(outcomes), h.arm.everyKey());
  return outcomes;
}

const speechOnly = (mode: RotationRunOptions['mode'], extra: Partial<RotationRunOptions> = {}) =>
  rotate({ mode, resource: 'speech', ...extra });

const stsAccepts = (key: string) => accepts(h, key);
const latest = (name = 'speech-key') => latestVersion(h, name);

async function tokenStatus(): Promise<number> {
  // Minted at the moment: the clock moves by months here, past any lifetime a caller token may have.
  const caller = await h.callerToken();
  return (await h.call('GET', '/api/token/speech', { authorization: `Bearer ${caller}` })).status;
}

const armCalls = (operation: string) => h.arm.calls.filter((c) => c.operation === operation).length;

describe('a scheduled rotation', () => {
  it('when due, regenerates the key not in use, stores it tagged, and the replaced key keeps working', async () => {
    expect(await tokenStatus()).toBe(200);
    const before = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + 30 * DAY;
    h.vault.resetCounters();
    h.arm.resetCalls();

    expect(await speechOnly('due')).toEqual([
      {
        resource: 'speech',
        action: 'rotated',
        keyName: 'key2',
        reason: expect.stringMatching(/^regenerated key2 and stored it \(version [0-9a-f]{32}\); key1 keeps working/),
      },
    ]);
    const after = h.arm.keys(ACCOUNT_IDS.speech);
    expect(after.key1).toBe(before.key1);
    expect(after.key2).not.toBe(before.key2);
    const stored = latest();
    expect(stored.value).toBe(after.key2);
    expect(stored.tags).toEqual({ keyName: 'key2', rotatedAt: new Date(T0 + 30 * DAY).toISOString() });
    expect(stored.contentType).toBe(`text/plain; Azure AI services key2 of ${ACCOUNT_IDS.speech}`);
    expect(stored.expiresOn).toBe(T0 + 30 * DAY + 60 * DAY);
    expect(await stsAccepts(before.key1)).toBe(true);
    expect(await stsAccepts(before.key2)).toBe(false);
    expect(await stsAccepts(after.key2)).toBe(true);

    // Upstream calls of one rotation: Key Vault read (due?); under the lease, read and ARM listKeys
    // (which key the secret holds), both again just before regenerateKey, the write, and both read
    // back (the stored key checked against the account).
    expect({ listKeys: armCalls('listKeys'), regenerateKey: armCalls('regenerateKey') }).toEqual({
      listKeys: 3,
      regenerateKey: 1,
    });
    expect(h.arm.calls.find((c) => c.operation === 'regenerateKey')).toMatchObject({
      keyName: 'Key2',
      apiVersion: '2024-10-01',
    });
    expect({ reads: h.vault.requests.get, writes: h.vault.writes }).toEqual({ reads: 4, writes: { put: 1, patch: 0 } });
    // The lease: taken with its holder, renewed never (the fake clock did not move), cleared and released.
    expect(h.blob.calls.map((c) => c.leaseAction ?? c.operation)).toEqual([
      'acquire',
      'createContainer',
      'putBlob',
      'acquire',
      'setBlobMetadata',
      'setBlobMetadata',
      'release',
    ]);
    // The app's own identity asked for an ARM token for the resource's cloud.
    expect(identity().requests).toContainEqual({
      resource: 'https://management.azure.com',
      clientId: IDENTITY_CLIENT_ID,
    });
    expect(h.logText()).toMatch(new RegExp(`key_rotated speech key2 speech-key ${stored.version} due`));
  });

  it('the next period regenerates the other key: the one replaced a period earlier', async () => {
    h.clock.now = T0 + 30 * DAY;
    await speechOnly('due');
    const middle = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + 60 * DAY;
    expect((await speechOnly('due'))[0]).toMatchObject({ action: 'rotated', keyName: 'key1' });
    const after = h.arm.keys(ACCOUNT_IDS.speech);
    expect(after.key2).toBe(middle.key2);
    expect(after.key1).not.toBe(middle.key1);
    expect(latest()).toMatchObject({ value: after.key1, tags: { keyName: 'key1' } });
  });

  it('is skipped while not due, reading the secret once and calling no ARM', async () => {
    h.clock.now = T0 + 29 * DAY;
    h.vault.resetCounters();
    expect(await speechOnly('due')).toEqual([
      {
        resource: 'speech',
        action: 'skipped',
        keyName: 'key1',
        reason: `not due: key1 in use since ${new Date(T0).toISOString()}; next rotation at ${new Date(T0 + 30 * DAY).toISOString()}`,
      },
    ]);
    expect(h.arm.calls).toEqual([]);
    expect(h.vault.requests.get).toBe(1);
  });

  it('every resource with a resourceId, one after another; the others are left alone', async () => {
    h.clock.now = T0 + 31 * DAY;
    const outcomes = await rotate({ mode: 'due' });
    expect(outcomes.map((o) => [o.resource, o.action, o.keyName])).toEqual([
      ['speech', 'rotated', 'key2'],
      ['speech-cn', 'rotated', 'key2'],
      ['speech-custom', 'rotated', 'key2'],
    ]);
    // The China account's ARM token is for the China cloud's ARM audience.
    expect(identity().requests.map((r) => r.resource)).toContain('https://management.chinacloudapi.cn');
    expect(h.vault.versions('translator-key')).toHaveLength(1);
  });

  it('a version written before rotation was on (no tags): the account tells which key it holds, its age comes from the version', async () => {
    h.vault.setSecret('speech-key', KEYS.speech); // untagged, created at T0 + 0
    h.clock.now = T0 + 30 * DAY;
    expect((await speechOnly('due'))[0]).toMatchObject({ action: 'rotated', keyName: 'key2' });
  });

  it("a secret holding a key the account no longer has (the STS refuses it) is repaired with the account's working key", async () => {
    h.vault.setSecret('speech-key', KEYS.speechRotated, {
      tags: { keyName: 'key1', rotatedAt: new Date(T0).toISOString() },
    });
    h.clock.now = T0 + 3 * DAY;
    const [outcome] = await speechOnly('due');
    expect(outcome).toEqual({
      resource: 'speech',
      action: 'repaired',
      keyName: 'key1',
      reason: expect.stringMatching(
        /^the secret held a key the account no longer has: stored key1 \(version [0-9a-f]{32}\), which the account has and the token service accepts$/,
      ),
    });
    expect(armCalls('regenerateKey')).toBe(0);
    expect(latest()).toMatchObject({
      value: KEYS.speech,
      tags: { keyName: 'key1', rotatedAt: new Date(T0 + 3 * DAY).toISOString() },
    });
    await expectLive(h);
    expect(h.logText()).toMatch(/key_secret_repaired speech key1 speech-key/);
  });

  it("refuses to touch a secret whose key is not the account's but works (resourceId names another account)", async () => {
    const other = 'b1c2d3e4f5061728394a5b6c7d8e9f0a';
    h.cognitive.setKeys([...h.cognitive.keys(), { key: other, cloud: 'AzureCloud', region: 'japanwest' }]);
    h.vault.setSecret('speech-key', other, { tags: { keyName: 'key1', rotatedAt: new Date(T0).toISOString() } });
    h.clock.now = T0 + 30 * DAY;
    const versions = h.vault.versions('speech-key').length;
    expect((await rotate({ mode: 'repair', resource: 'speech' }))[0]).toMatchObject({
      action: 'failed',
      code: 'rotation_secret_unrecognized',
      detail: expect.stringContaining(
        "and the token service accepts it, so it is another account's key; nothing was regenerated or stored",
      ),
    });
    expect((await speechOnly('due'))[0]).toMatchObject({ action: 'failed', code: 'rotation_secret_unrecognized' });
    expect(armCalls('regenerateKey')).toBe(0);
    expect(h.vault.versions('speech-key')).toHaveLength(versions);
  });
});

describe('on demand', () => {
  it('--now waits until no instance can hold the other key: SECRET_MAX_AGE_MINUTES plus 5 minutes after the last rotation', async () => {
    h.clock.now = T0 + 30 * 60_000;
    expect((await speechOnly('now'))[0]).toMatchObject({
      action: 'skipped',
      reason: expect.stringContaining(`instances may hold it until ${new Date(T0 + 65 * 60_000).toISOString()}`),
    });
    expect(armCalls('regenerateKey')).toBe(0);
    h.clock.now = T0 + 65 * 60_000;
    expect((await speechOnly('now'))[0]).toMatchObject({ action: 'rotated', keyName: 'key2' });
  });

  it('--leaked rotates at once, then regenerates the replaced key: no key from before works, and callers see nothing', async () => {
    expect(await tokenStatus()).toBe(200);
    const before = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + 60_000;
    expect(await speechOnly('leaked')).toEqual([
      {
        resource: 'speech',
        action: 'rotated',
        keyName: 'key2',
        reason: expect.stringMatching(
          /^regenerated key2, stored it \(version [0-9a-f]{32}\), then regenerated key1: no key from before works$/,
        ),
      },
    ]);
    expect(await stsAccepts(before.key1)).toBe(false);
    expect(await stsAccepts(before.key2)).toBe(false);
    expect(latest().value).toBe(h.arm.keys(ACCOUNT_IDS.speech).key2);
    // The instance still holds key1 and its token; past the token's life it gets a 401, reads the secret again, and serves.
    h.clock.now += 10 * 60_000;
    h.cognitive.resetCalls();
    expect(await tokenStatus()).toBe(200);
    expect(h.cognitive.calls.map((c) => c.status)).toEqual([401, 200]);
  });

  it('--dry-run reads, decides and changes nothing', async () => {
    h.clock.now = T0 + 30 * DAY;
    const versions = h.vault.versions('speech-key').length;
    expect(await speechOnly('leaked', { dryRun: true })).toEqual([
      {
        resource: 'speech',
        action: 'would_rotate',
        keyName: 'key1',
        reason:
          'dry run: would regenerate key2 and store it in secret "speech-key", then regenerate key1; nothing was changed',
      },
    ]);
    expect(armCalls('regenerateKey')).toBe(0);
    expect(h.vault.writes).toEqual({ put: 0, patch: 0 });
    expect(h.vault.versions('speech-key')).toHaveLength(versions);
  });

  it('refuses a resource without resourceId', async () => {
    expect(await rotate({ mode: 'now', resource: 'translator' })).toEqual([
      {
        resource: 'translator',
        action: 'failed',
        code: 'rotation_resource_id_missing',
        detail: expect.stringContaining('has no "resourceId" in TOKEN_RESOURCES'),
        fix: expect.stringContaining('Add "resourceId"'),
      },
    ]);
    expect(h.arm.calls).toEqual([]);
    expect(h.logText()).toMatch(/key_rotation_failed translator rotation_resource_id_missing/);
  });
});

describe('interrupted rotations: a clear code, nothing for callers, and the next run completes', () => {
  /** Due, a token served; runs `interrupt`, checks the failure, callers, then a clean run. */
  async function interrupted(interrupt: () => void, code: string, detail: RegExp): Promise<void> {
    expect(await tokenStatus()).toBe(200);
    h.clock.now = T0 + 30 * DAY;
    interrupt();
    const [failed] = await speechOnly('due');
    expect(failed).toMatchObject({
      action: 'failed',
      code,
      detail: expect.stringMatching(detail),
      fix: expect.any(String),
    });
    expect(h.logText()).toMatch(new RegExp(`key_rotation_failed speech ${code}`));
    // The secret still holds key1, which works: callers are served, whatever the cache holds.
    expect(latest().tags.keyName).toBe('key1');
    expect(await stsAccepts(latest().value)).toBe(true);
    expect(await tokenStatus()).toBe(200);
    h.clock.now += 11 * 60_000;
    expect(await tokenStatus()).toBe(200);
    // Faults gone, the next scheduled run completes the rotation.
    h.arm.allowAll();
    h.arm.failNext(0, { status: 500 });
    h.vault.failNextWrites(0, 500);
    h.vault.failNext(0, 500);
    h.vault.writeAccess = 'allow';
    h.vault.down = false;
    h.clock.now += 6 * 60 * 60_000;
    expect((await speechOnly('due'))[0]).toMatchObject({ action: 'rotated', keyName: 'key2' });
    expect(await stsAccepts(latest().value)).toBe(true);
  }

  it('ARM fails after regenerating the key, before it is stored', async () => {
    await interrupted(
      () => h.arm.failNext(2, { status: 503, afterRegenerate: true }, 'regenerateKey'),
      'rotation_arm_unavailable',
      /^regenerateKey on .*speech-jpw: Azure Resource Manager answered 503 .*; before that this run asked for key2 to be regenerated, and no answer said whether it was; afterwards the secret holds key1 .*, which the account has, so callers are unaffected$/,
    );
  });

  it('the secret write fails: the report says what was changed and what the secret holds afterwards', async () => {
    await interrupted(
      () => h.vault.failNextWrites(3, 500),
      'rotation_secret_write_failed',
      /^writing secret "speech-key" .*Key Vault answered 500 \(InternalServerError\); before that this run regenerated key2; afterwards the secret holds key1 \(version [0-9a-f]{32}\), which the account has, so callers are unaffected$/,
    );
  });

  it('ARM answers 403: the identity may not regenerate keys (nothing changed, so nothing else to say)', async () => {
    await interrupted(
      () => h.arm.deny(ACCOUNT_IDS.speech, 'regenerateKey'),
      'rotation_permission_missing',
      /^regenerateKey on .*speech-jpw: Azure Resource Manager answered 403 \(AuthorizationFailed\): [^;]*$/,
    );
  });

  it('Key Vault refuses the write (403): the identity may read the secret but not write it', async () => {
    await interrupted(
      () => (h.vault.writeAccess = 'forbidden'),
      'rotation_permission_missing',
      /Key Vault answered 403 \(Forbidden\) writing secret "speech-key"/,
    );
  });

  it('Key Vault is down', async () => {
    await interrupted(
      () => (h.vault.down = true),
      'rotation_keyvault_unavailable',
      /reading secret "speech-key" .*: no answer/,
    );
    expect(h.logText()).toMatch(/secret_read_failed_kept_cached speech-key keyvault_unreachable/);
  });
});

describe('two rotators at once: one lease per account', () => {
  it('in one process, a second run for the same resource joins the one in flight: one regeneration', async () => {
    h.clock.now = T0 + 30 * DAY;
    const [a, b] = await Promise.all([speechOnly('due'), speechOnly('due')]);
    expect(a).toEqual(b);
    expect(a[0]).toMatchObject({ action: 'rotated' });
    expect(armCalls('regenerateKey')).toBe(1);
    expect(h.vault.writes.put).toBe(1);
  });

  it('two instances started together: one rotates, the other changes nothing; one regeneration', async () => {
    h.clock.now = T0 + 30 * DAY;
    const outcomes = (
      await Promise.all([speechOnly('due'), anotherInstance(h).run({ mode: 'due', resource: 'speech' })])
    ).flat();
    expect(outcomes.map((o) => o.action).sort()).toEqual(['rotated', 'skipped']);
    expect(armCalls('regenerateKey')).toBe(1);
    await expectLive(h);
  });

  it('while one holds the lease, another (any mode) is refused, says who holds it, and changes nothing', async () => {
    h.clock.now = T0 + 30 * DAY;
    const held = h.arm.holdNext('regenerateKey');
    const first = rotate({ mode: 'due', resource: 'speech', holder: 'key-rotation timer on instance A' });
    await held.arrived;
    for (const mode of ['leaked', 'now', 'repair', 'due'] as const) {
      expect(await anotherInstance(h).run({ mode, resource: 'speech', holder: 'instance B' })).toEqual([
        {
          resource: 'speech',
          action: 'skipped',
          code: 'rotation_lease_held',
          reason: `the rotation lease of ${ACCOUNT_IDS.speech} is held by key-rotation timer on instance A, since ${new Date(T0 + 30 * DAY).toISOString()}, mode due; this run changed nothing`,
          fix: expect.stringContaining('a rotator renews the lease while it works and releases it at the end'),
        },
      ]);
    }
    held.release();
    expect((await first)[0]).toMatchObject({ action: 'rotated', keyName: 'key2' });
    expect(armCalls('regenerateKey')).toBe(1);
    expect(h.vault.writes.put).toBe(1);
    await expectLive(h);
  });
});

describe('the key-rotation timer', () => {
  it('is in the timer table only while KEY_ROTATION_DAYS is set, on KEY_ROTATION_SCHEDULE', () => {
    expect(createTimers(h.services.jobs).map((t) => [t.name, t.schedule.expression])).toEqual([
      ['self-check', '0 */5 * * * *'],
      ['key-rotation', '0 0 */6 * * *'],
    ]);
    h.rebuild({ KEY_ROTATION_DAYS: '0' });
    expect(createTimers(h.services.jobs).map((t) => t.name)).toEqual(['self-check']);
  });

  it('rotates what is due at its next tick, with the invocation id on its lines', async () => {
    h.rebuild({ KEY_ROTATION_SCHEDULE: '0 0 3 * * *' });
    const timer = createTimers(h.services.jobs).find((t) => t.name === 'key-rotation');
    if (timer === undefined) throw new Error('no timer');
    expect(timer.schedule.nextAfter(T0 + 30 * DAY)).toBe(T0 + 30 * DAY + 3 * 60 * 60_000);
    h.clock.now = T0 + 30 * DAY + 3 * 60 * 60_000;
    await timer.run(new InvocationContext({ invocationId: 'timer-run-1', functionName: 'key-rotation' }));
    const rotated = h.logs.map((l) => l.text).filter((t) => t.includes('"event":"key_rotated"'));
    expect(rotated).toHaveLength(3);
    expect(JSON.parse(rotated[0] ?? '{}')).toMatchObject({
      invocationId: 'timer-run-1',
      resource: 'speech',
      keyName: 'key2',
    });
  });
});
