import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTimers } from '../../src/functions/timers.js';
import type { Rotation, RotationOutcome, RotationRunOptions } from '../../src/rotation/keyRotation.js';
import { buildInstance } from '../support/harness.js';
import {
  ACCOUNT_IDS,
  expectNoKeys,
  IDENTITY_CLIENT_ID,
  KEYS,
  startRotationHarness,
  type RotationHarness,
} from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;
const JAPANWEST_STS = 'https://japanwest.api.cognitive.microsoft.com/sts/v1.0/issueToken';

let h: RotationHarness;
let caller: string;

const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
  caller = await h.callerToken({ exp: Math.floor(T0 / 1000) + 400 * 86_400 });
});
afterEach(async () => {
  // No key in any log line: the test keys and every key the ARM fake made up.
  expectNoKeys(h.logText(), h.arm.everyKey());
  await h.close();
});

function rotation(): Rotation {
  return h.parts.rotation;
}

async function rotate(options: RotationRunOptions): Promise<RotationOutcome[]> {
  const outcomes = await rotation().run(options);
  expectNoKeys(JSON.stringify(outcomes), h.arm.everyKey());
  return outcomes;
}

const speechOnly = (mode: RotationRunOptions['mode'], extra: Partial<RotationRunOptions> = {}) =>
  rotate({ mode, resource: 'speech', ...extra });

/** Whether the STS accepts a key at the speech resource's regional host. */
async function stsAccepts(key: string): Promise<boolean> {
  const answer = await h.cognitive.fetch(JAPANWEST_STS, {
    method: 'POST',
    headers: { 'Ocp-Apim-Subscription-Key': key },
  });
  await answer.body?.cancel();
  return answer.status === 200;
}

function latest(name = 'speech-key') {
  const version = h.vault.versions(name).at(-1);
  if (version === undefined) throw new Error(`no secret ${name}`);
  return version;
}

async function tokenStatus(): Promise<number> {
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

    // Upstream calls of one rotation: ARM listKeys (which key the secret holds), regenerateKey,
    // listKeys (the stored key checked against the account); Key Vault: read, read just before the
    // write, the write, read back.
    expect({ listKeys: armCalls('listKeys'), regenerateKey: armCalls('regenerateKey') }).toEqual({
      listKeys: 2,
      regenerateKey: 1,
    });
    expect(h.arm.calls.find((c) => c.operation === 'regenerateKey')).toMatchObject({
      keyName: 'Key2',
      apiVersion: '2024-10-01',
    });
    expect({ reads: h.vault.requests.get, writes: h.vault.writes }).toEqual({ reads: 3, writes: { put: 1, patch: 0 } });
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

  it("refuses to guess when the secret holds neither of the account's keys: nothing is regenerated", async () => {
    h.vault.setSecret('speech-key', KEYS.speechRotated, {
      tags: { keyName: 'key1', rotatedAt: new Date(T0).toISOString() },
    });
    h.clock.now = T0 + 30 * DAY;
    expect((await speechOnly('due'))[0]).toMatchObject({
      action: 'failed',
      code: 'rotation_secret_unrecognized',
      detail: expect.stringContaining('holds a key that is neither key1 nor key2'),
    });
    expect(armCalls('regenerateKey')).toBe(0);
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
        action: 'skipped',
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
      /regenerateKey on .*speech-jpw: Azure Resource Manager answered 503/,
    );
  });

  it('the secret write fails', async () => {
    await interrupted(
      () => h.vault.failNextWrites(3, 500),
      'rotation_secret_write_failed',
      /writing secret "speech-key" .*Key Vault answered 500.*key2 was regenerated but not stored/,
    );
  });

  it('ARM answers 403: the identity may not regenerate keys', async () => {
    await interrupted(
      () => h.arm.deny(ACCOUNT_IDS.speech, 'regenerateKey'),
      'rotation_permission_missing',
      /regenerateKey on .*speech-jpw: Azure Resource Manager answered 403 \(AuthorizationFailed\)/,
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

describe('two rotators at once end consistent', () => {
  /** A second instance of the service against the same fakes, with its own rotation. */
  function secondRotation(): Rotation {
    const { parts } = buildInstance(h.env, h.dependencies);
    if (parts instanceof Error) throw parts;
    return parts.rotation;
  }

  async function expectConsistent(): Promise<void> {
    const keys = h.arm.keys(ACCOUNT_IDS.speech);
    const stored = latest();
    expect([keys.key1, keys.key2]).toContain(stored.value);
    expect(stored.value).toBe(keys[stored.tags.keyName as 'key1' | 'key2']);
    expect(await stsAccepts(stored.value)).toBe(true);
  }

  it('in one process, a second run for the same resource joins the one in flight: one regeneration', async () => {
    h.clock.now = T0 + 30 * DAY;
    const [a, b] = await Promise.all([speechOnly('due'), speechOnly('due')]);
    expect(a).toEqual(b);
    expect(a[0]).toMatchObject({ action: 'rotated' });
    expect(armCalls('regenerateKey')).toBe(1);
    expect(h.vault.writes.put).toBe(1);
  });

  it('started together, neither fails and the secret holds a key the account accepts', async () => {
    h.clock.now = T0 + 30 * DAY;
    const outcomes = (
      await Promise.all([speechOnly('due'), secondRotation().run({ mode: 'due', resource: 'speech' })])
    ).flat();
    expect(outcomes.map((o) => o.action).sort()).toEqual(expect.arrayContaining(['rotated']));
    expect(outcomes.every((o) => o.action !== 'failed')).toBe(true);
    await expectConsistent();
  });

  it("the second to regenerate wins: the first finds the stored key dead and stores the account's current one", async () => {
    h.clock.now = T0 + 30 * DAY;
    const held = h.arm.holdNext('regenerateKey');
    const first = speechOnly('due');
    await held.arrived;
    // While the first rotator's regeneration is parked, a second one runs from start to end.
    expect((await secondRotation().run({ mode: 'due', resource: 'speech' }))[0]).toMatchObject({
      action: 'rotated',
      keyName: 'key2',
    });
    held.release();
    // The first now regenerates key2 again (the second's stored key dies), finds a newer version
    // holding a key the account no longer has, and stores the account's current one.
    expect((await first)[0]).toMatchObject({ action: 'rotated', keyName: 'key2' });
    await expectConsistent();
    expect(h.vault.writes.put).toBe(2);
  });

  it('the first to regenerate finds a newer version holding a working key, and does not write', async () => {
    h.clock.now = T0 + 30 * DAY;
    const held = h.arm.holdNext('regenerateKey', { afterEffect: true });
    const first = speechOnly('due');
    await held.arrived;
    // The first has regenerated key2 but not heard back; a second rotator regenerates it again and stores it.
    expect((await secondRotation().run({ mode: 'due', resource: 'speech' }))[0]).toMatchObject({ action: 'rotated' });
    held.release();
    expect((await first)[0]).toEqual({
      resource: 'speech',
      action: 'skipped',
      keyName: 'key2',
      reason: expect.stringMatching(/^another rotator stored key2 \(version [0-9a-f]{32}\) at the same time/),
    });
    await expectConsistent();
    expect(h.vault.writes.put).toBe(1);
  });

  it("a write that lands after another rotator's is repaired by its own read-back", async () => {
    h.clock.now = T0 + 30 * DAY;
    const held = h.vault.holdNextWrite();
    const first = speechOnly('due');
    await held.arrived;
    // The first has regenerated key2 and is storing it; a second rotator regenerates key2 again
    // and stores it. Then the first's write lands: the latest version holds a dead key, for a moment.
    await secondRotation().run({ mode: 'due', resource: 'speech' });
    held.release();
    expect((await first)[0]).toMatchObject({ action: 'rotated', keyName: 'key2' });
    await expectConsistent();
    expect(h.vault.writes.put).toBe(3);
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
