/**
 * Issue 24, "two rotators can lose the key": the whole kind, at the wire (ARM fake, Key Vault fake
 * over TLS, Blob Storage fake for the lease, the real clients), on a fake clock. A rotation must
 * never leave the secret holding a key its account no longer has, and must say what it did.
 */
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnose, type Finding } from '../../src/doctor/diagnose.js';
import { createTimers } from '../../src/functions/timers.js';
import { AccountKeysClient } from '../../src/rotation/accountKeys.js';
import type { RotationMode, RotationOutcome, RotationRunOptions } from '../../src/rotation/keyRotation.js';
import { LEASE_CONTAINER } from '../../src/rotation/rotationLease.js';
import { createServiceCredential } from '../../src/serviceCredential.js';
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
  holdsLiveKey,
  latestVersion,
  rotationOf,
  stsAccepts,
} from '../support/rotationChecks.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;
const LEASE_BLOB = ACCOUNT_IDS.speech.toLowerCase().slice(1);

let h: RotationHarness;

const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
  // Key Vault failures are scripted per request here: the SDK's own retries (and their waits) off.
  Object.assign(h.dependencies, {
    keyVaultClientOptions: { ...h.dependencies.keyVaultClientOptions, retryOptions: { maxRetries: 0 } },
  });
  h.rebuild();
});
afterEach(async () => {
  expectNoKeys(h.logText(), h.arm.everyKey());
  await h.close();
});

async function run(rotation: 'A' | 'B', options: Omit<RotationRunOptions, 'resource'>): Promise<RotationOutcome> {
  const instance = rotation === 'A' ? rotationOf(h) : anotherInstance(h);
  const [outcome] = await instance.run({ resource: 'speech', holder: `rotator ${rotation}`, ...options });
  if (outcome === undefined) throw new Error('no outcome');
  expectNoKeys(JSON.stringify(outcome), h.arm.everyKey());
  return outcome;
}

const armCalls = (operation: string) => h.arm.calls.filter((c) => c.operation === operation).length;

async function speechFinding(): Promise<Finding> {
  const finding = (await diagnose(h.env, h.dependencies)).find((f) => f.resource === 'speech');
  if (finding === undefined) throw new Error('no finding for speech');
  return finding;
}

async function timerTick(invocationId: string): Promise<void> {
  const timer = createTimers(h.services.jobs).find((t) => t.name === 'key-rotation');
  if (timer === undefined) throw new Error('no key-rotation timer');
  await timer.run(new InvocationContext({ invocationId, functionName: 'key-rotation' }));
}

/** The events logged about the speech resource, in order. */
function loggedEvents(): string[] {
  return h.logs.flatMap((line) => {
    const fields = JSON.parse(line.text) as { event?: string; resource?: string };
    return fields.resource === 'speech' && fields.event !== undefined ? [fields.event] : [];
  });
}

/**
 * The issue's interleaving: A (in `mode`) is held at its regenerateKey and stalls past its lease
 * while B runs --leaked from start to end; then `meanwhile()`, then A's request goes on.
 */
async function stalledA(
  mode: RotationMode,
  meanwhile: () => void = () => undefined,
): Promise<{ a: RotationOutcome; b: RotationOutcome }> {
  const held = h.arm.holdNext('regenerateKey');
  const a = run('A', { mode });
  await held.arrived;
  h.clock.now += 61_000;
  const b = await run('B', { mode: 'leaked' });
  meanwhile();
  held.release();
  return { a: await a, b };
}

describe("the issue's reproduction: A is held at its regenerateKey while B runs --leaked", () => {
  it('A holds the lease: B is refused, saying A holds it, and changes nothing; A completes', async () => {
    const original = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + 31 * DAY;
    const held = h.arm.holdNext('regenerateKey');
    const a = run('A', { mode: 'due' });
    await held.arrived;
    const b = await run('B', { mode: 'leaked' });
    expect(b).toMatchObject({
      action: 'skipped',
      code: 'rotation_lease_held',
      reason: expect.stringContaining('is held by rotator A, since 2027-01-01T00:00:00.000Z, mode due'),
    });
    held.release();
    expect(await a).toMatchObject({ action: 'rotated', keyName: 'key2' });
    expect(armCalls('regenerateKey')).toBe(1);
    await expectLive(h);
    expect(await stsAccepts(h, original.key1)).toBe(true);
  });

  it("A stalls past its lease: B's --leaked completes, A's regeneration kills B's key, and A puts the account's working key back", async () => {
    const original = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + 31 * DAY;
    let stored = latestVersion(h);
    // A's request is on its way to ARM; A's lease runs out before it is answered.
    const { a: outcome, b } = await stalledA('due', () => (stored = latestVersion(h)));
    expect(b).toMatchObject({ action: 'rotated', keyName: 'key2' });
    // A's regeneration took B's stored key2 away; A saw key1 changed under it, and repaired.
    expect(outcome).toEqual({
      resource: 'speech',
      action: 'failed',
      code: 'rotation_conflict',
      detail: expect.stringMatching(
        /^regenerating key2 on .*speech-jpw: the answer's key1 changed too, so another rotator regenerated it; before that this run regenerated key2; afterwards the secret held a key the account no longer has, so this run stored key2 \(version [0-9a-f]{32}\), which the account has and the token service accepts$/,
      ),
      fix: expect.any(String),
    });
    expect(await stsAccepts(h, stored.value)).toBe(false);
    await expectLive(h);
    expect(latestVersion(h).tags.keyName).toBe('key2');
    // B's work stands: neither key from before the leak works.
    expect(await stsAccepts(h, original.key1)).toBe(false);
    expect(await stsAccepts(h, original.key2)).toBe(false);
    expect(h.logText()).not.toContain('nobody uses it');
  });

  it("...and A's Key Vault writes fail (503): A reports the dead key as it is, and the timer's next tick repairs it", async () => {
    h.clock.now = T0 + 31 * DAY;
    const { a: outcome } = await stalledA('due', () => h.vault.failNextWrites(3, 503));
    expect(outcome).toEqual({
      resource: 'speech',
      action: 'failed',
      code: 'rotation_secret_dead',
      detail: expect.stringMatching(
        /; before that this run regenerated key2; afterwards secret "speech-key" .* holds a key .*speech-jpw no longer has, and storing the account's working key failed: writing secret "speech-key" .*: Key Vault answered 503 \(ServiceUnavailable\)$/,
      ),
      fix: expect.stringContaining(
        'run `npm run rotate -- --resource speech --repair`; the key-rotation timer also repairs it',
      ),
    });
    expect(holdsLiveKey(h)).toBe(false);
    expect(h.logText()).toMatch(/key_rotation_failed speech rotation_secret_dead/);
    // Callers now get key_rejected, and the doctor says so.
    expect((await speechFinding()).cause).toBe('key_rejected');

    // Key Vault is back: the next tick finds the key refused, and stores the account's working one.
    h.clock.now += 6 * 60 * 60_000;
    await timerTick('after-the-outage');
    await expectLive(h);
    expect(loggedEvents()).toContain('key_secret_repaired');
    expect((await speechFinding()).ok).toBe(true);
  });

  it('...or `npm run rotate -- --repair` does it at once; with nothing to repair it says so', async () => {
    h.clock.now = T0 + 31 * DAY;
    await stalledA('due', () => h.vault.failNextWrites(3, 503));
    expect(holdsLiveKey(h)).toBe(false);
    expect(await run('A', { mode: 'repair' })).toEqual({
      resource: 'speech',
      action: 'repaired',
      keyName: 'key2',
      reason: expect.stringMatching(
        /^the secret held a key the account no longer has: stored key2 \(version [0-9a-f]{32}\)/,
      ),
    });
    await expectLive(h);
    expect(await run('A', { mode: 'repair' })).toEqual({
      resource: 'speech',
      action: 'skipped',
      keyName: 'key2',
      reason: expect.stringMatching(
        /^nothing to repair: the secret holds key2 \(version [0-9a-f]{32}\), which the account has$/,
      ),
    });
  });
});

describe('just before regenerateKey, the secret and the keys are read again', () => {
  it('a version written in between (by a writer without the lease): rotation_conflict, nothing regenerated', async () => {
    h.clock.now = T0 + 30 * DAY;
    const held = h.arm.holdNext('listKeys');
    const a = run('A', { mode: 'now' });
    await held.arrived;
    const before = latestVersion(h).version;
    const written = h.vault.setSecret('speech-key', KEYS.speech, {
      tags: { keyName: 'key1', rotatedAt: new Date(h.clock.now).toISOString() },
    });
    held.release();
    expect(await a).toEqual({
      resource: 'speech',
      action: 'failed',
      code: 'rotation_conflict',
      detail: `before regenerating key2: the latest version of secret "speech-key" in ${h.vault.vaultUrl} is ${written}, not ${before}; it was left as it is`,
      fix: expect.stringContaining('Another rotator changed them'),
    });
    expect(armCalls('regenerateKey')).toBe(0);
    await expectLive(h);
  });

  it("the account's keys changed in between: rotation_conflict, nothing regenerated", async () => {
    h.clock.now = T0 + 30 * DAY;
    // The first listKeys has its answer ready; before it is sent, someone regenerates key2.
    const held = h.arm.holdNext('listKeys', { afterEffect: true });
    const a = run('A', { mode: 'due' });
    await held.arrived;
    const outsider = new AccountKeysClient({
      credential: createServiceCredential({ managedIdentity: true, clientId: IDENTITY_CLIENT_ID }),
      armEndpoint: h.arm.url,
      pipelineOptions: { tlsOptions: { ca: h.arm.certificatePem } },
    });
    const resource = h.parts.config.resources.find((r) => r.name === 'speech');
    if (resource === undefined) throw new Error('no speech resource');
    await outsider.regenerateKey(resource, 'key2');
    held.release();
    expect(await a).toMatchObject({
      action: 'failed',
      code: 'rotation_conflict',
      detail: `before regenerating key2: key2 of ${ACCOUNT_IDS.speech} changed; it was left as it is`,
    });
    expect(h.arm.calls.filter((c) => c.operation === 'regenerateKey')).toHaveLength(1);
    await expectLive(h);
  });
});

describe('a regenerateKey answer whose "new" key is not new is refused', () => {
  it('the old key2 again (nothing regenerated): rotation_new_key_invalid, nothing stored', async () => {
    h.clock.now = T0 + 30 * DAY;
    h.arm.tamperNextRegenerate((before) => before, { regenerate: false });
    expect(await run('A', { mode: 'due' })).toEqual({
      resource: 'speech',
      action: 'failed',
      code: 'rotation_new_key_invalid',
      detail: expect.stringMatching(
        /^regenerateKey key2 on .*speech-jpw: the answer's key2 is the key it had before; it was not stored; before that this run asked for key2 to be regenerated, and the answer was not a new key; afterwards the secret holds key1 \(version [0-9a-f]{32}\), which the account has, so callers are unaffected$/,
      ),
      fix: expect.stringContaining('a real regeneration always answers a fresh key'),
    });
    expect(h.vault.writes.put).toBe(0);
    await expectLive(h);
  });

  it('key2 said to be key1, the key in use: refused, nothing stored, key1 still in use', async () => {
    h.clock.now = T0 + 30 * DAY;
    h.arm.tamperNextRegenerate((_before, after) => ({ key1: after.key1, key2: after.key1 }));
    expect(await run('A', { mode: 'leaked' })).toMatchObject({
      action: 'failed',
      code: 'rotation_new_key_invalid',
      detail: expect.stringContaining("the answer's key2 is key1, the account's other key; it was not stored"),
    });
    expect(h.vault.writes.put).toBe(0);
    expect(latestVersion(h).value).toBe(KEYS.speech);
    await expectLive(h);
  });
});

describe('an interrupted --leaked leaves a mark: the doctor reports it, the timer finishes it', () => {
  /** --leaked stopped after storing key2, before regenerating key1: as if killed there. */
  async function interruptLeaked(): Promise<RotationOutcome> {
    const first = h.arm.holdNext('regenerateKey', { afterEffect: true });
    const a = run('A', { mode: 'leaked' });
    await first.arrived;
    h.arm.deny(ACCOUNT_IDS.speech, 'regenerateKey');
    first.release();
    return a;
  }

  it('the version carries regeneratePending; the report says the leaked key still works', async () => {
    const original = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + DAY;
    const outcome = await interruptLeaked();
    expect(outcome).toEqual({
      resource: 'speech',
      action: 'failed',
      code: 'rotation_permission_missing',
      detail: expect.stringMatching(
        /; before that this run regenerated key2, then stored key2 \(version [0-9a-f]{32}\); afterwards the secret holds key2 \(version [0-9a-f]{32}\), which the account has, so callers are unaffected, but key1, the suspected leaked key, may still work until it is regenerated: the key-rotation timer does that on its next run, or run `npm run rotate -- --resource speech --repair`$/,
      ),
      fix: expect.any(String),
    });
    expect(latestVersion(h).tags).toEqual({
      keyName: 'key2',
      rotatedAt: new Date(T0 + DAY).toISOString(),
      regeneratePending: 'key1',
    });
    expect(await stsAccepts(h, original.key1)).toBe(true);
  });

  it('the doctor: in progress for a while, then rotation_leak_pending with an alert-worthy key_rotation_incomplete', async () => {
    h.clock.now = T0 + DAY;
    await interruptLeaked();
    h.arm.allowAll();
    h.clock.now += 60_000;
    expect(await speechFinding()).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/; a --leaked rotation is regenerating key1$/),
    });
    h.clock.now += 10 * 60_000;
    expect(await speechFinding()).toMatchObject({
      ok: false,
      cause: 'rotation_leak_pending',
      detail: expect.stringMatching(
        /^secret "speech-key" in .* holds key2, stored by a --leaked rotation at 2026-12-02T00:00:00.000Z, but key1, the suspected leaked key, was never regenerated and still works$/,
      ),
      fix: expect.stringContaining('npm run rotate -- --resource speech --repair'),
    });
    expect(h.logs.some((l) => l.level === 'error' && l.text.includes('"event":"key_rotation_incomplete"'))).toBe(true);
  });

  it("the timer's next tick regenerates the leaked key and removes the mark; the doctor is satisfied", async () => {
    const original = h.arm.keys(ACCOUNT_IDS.speech);
    h.clock.now = T0 + DAY;
    await interruptLeaked();
    h.arm.allowAll();
    const stored = latestVersion(h);
    h.clock.now += 6 * 60 * 60_000;
    h.logs.length = 0;
    await timerTick('finishes-the-leak');
    expect(loggedEvents()).toEqual(['key_rotation_incomplete', 'key_rotated']);
    expect(await stsAccepts(h, original.key1)).toBe(false);
    expect(latestVersion(h)).toMatchObject({
      version: stored.version,
      tags: { keyName: 'key2', rotatedAt: new Date(T0 + DAY).toISOString() },
    });
    await expectLive(h);
    expect((await speechFinding()).ok).toBe(true);
    // Nothing left to finish: the next tick is quiet.
    h.arm.resetCalls();
    await timerTick('quiet');
    expect(h.arm.calls).toEqual([]);
  });
});

describe('the lease', () => {
  it('is renewed before each change while a run outlasts it, and names the timer that holds it', async () => {
    h.clock.now = T0 + 30 * DAY;
    const atRegenerate = h.arm.holdNext('regenerateKey');
    const atWrite = h.vault.holdNextWrite();
    const tick = timerTick('long-run');
    await atRegenerate.arrived;
    expect(h.blob.metadata(LEASE_CONTAINER, LEASE_BLOB)).toEqual({
      holder: expect.stringMatching(/^key-rotation timer on instance [0-9a-f-]{36} \(invocation long-run\)$/),
      since: new Date(T0 + 30 * DAY).toISOString(),
      mode: 'due',
    });
    h.clock.now += 50_000;
    expect(await run('B', { mode: 'leaked' })).toMatchObject({ code: 'rotation_lease_held' });
    atRegenerate.release();
    await atWrite.arrived;
    // Renewed before the write: 50 s after it was taken, still 10 s before its end.
    expect(h.blob.calls.filter((c) => c.leaseAction === 'renew')).toEqual([expect.objectContaining({ status: 200 })]);
    h.clock.now += 50_000;
    expect(await run('B', { mode: 'now' })).toMatchObject({ code: 'rotation_lease_held' });
    atWrite.release();
    await tick;
    expect(loggedEvents()).toContain('key_rotated');
    expect(h.blob.lease(LEASE_CONTAINER, LEASE_BLOB).state).toBe('available');
    expect(h.blob.metadata(LEASE_CONTAINER, LEASE_BLOB)).toEqual({});
    await expectLive(h);
  });

  it('lost before a change (renewal refused): the run stops, says what it did and what the secret holds', async () => {
    h.clock.now = T0 + 30 * DAY;
    const held = h.arm.holdNext('regenerateKey');
    const a = run('A', { mode: 'due' });
    await held.arrived;
    h.clock.now += 20_000;
    h.blob.failNext(2, 503, 'leaseBlob');
    held.release();
    expect(await a).toMatchObject({
      action: 'failed',
      code: 'rotation_lease_lost',
      detail: expect.stringMatching(
        /^the rotation lease of .*speech-jpw could not be renewed \(Azure Storage answered 503 \(ServerBusy\)\); the run stopped before its next change; before that this run regenerated key2; afterwards the secret holds key1 .*, which the account has, so callers are unaffected$/,
      ),
    });
    expect(h.vault.writes.put).toBe(0);
    await expectLive(h);
  });

  it('storage unreachable, refused, or not configured: nothing is changed, with the setting or role to fix', async () => {
    h.clock.now = T0 + 30 * DAY;
    h.blob.down = true;
    expect(await run('A', { mode: 'now' })).toMatchObject({
      action: 'failed',
      code: 'rotation_lease_unavailable',
      detail: expect.stringMatching(/^taking the rotation lease .*: no answer .*; nothing was changed$/),
    });
    h.blob.down = false;
    h.blob.access = 'forbidden';
    expect(await run('A', { mode: 'now' })).toMatchObject({
      action: 'failed',
      code: 'rotation_permission_missing',
      fix: expect.stringContaining('Storage Blob Data Owner'),
    });
    h.blob.access = 'allow';
    h.rebuild({ AzureWebJobsStorage__blobServiceUri: '' });
    expect(await run('A', { mode: 'leaked' })).toMatchObject({
      action: 'failed',
      code: 'rotation_lease_unavailable',
      detail: expect.stringContaining(
        'neither AzureWebJobsStorage__blobServiceUri nor AzureWebJobsStorage__accountName is set',
      ),
    });
    expect(await speechFinding()).toMatchObject({ ok: false, cause: 'rotation_lease_unavailable' });
    expect(armCalls('regenerateKey')).toBe(0);
    expect(h.vault.writes.put).toBe(0);
  });
});

/** A small seeded generator: the same faults in the same order on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('two rotators against each other under failure', () => {
  it('a bounded loop of injected faults never leaves the secret holding a dead key', async () => {
    const random = seeded(24);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const modes: readonly RotationMode[] = ['due', 'now', 'leaked', 'repair'];
    const faults = [
      'none',
      'stall',
      'vault-writes',
      'arm-after-effect',
      'lease-renewal',
      'stall+vault-writes',
    ] as const;
    const seen = new Set<string>();
    for (let round = 0; round < 14; round++) {
      const fault = faults[round % faults.length] ?? 'none';
      h.clock.now += Math.floor(random() * 40) * DAY + 61_000;
      const [modeA, modeB] = [pick(modes), pick(modes)];
      let outcomes: RotationOutcome[];
      if (fault.startsWith('stall')) {
        const { a, b } = await stalledA('leaked', () => {
          if (fault.endsWith('vault-writes')) h.vault.failNextWrites(2, 503);
        });
        outcomes = [a, b];
      } else {
        if (fault === 'vault-writes') h.vault.failNextWrites(1 + Math.floor(random() * 2), 503);
        if (fault === 'arm-after-effect') h.arm.failNext(1, { status: 503, afterRegenerate: true }, 'regenerateKey');
        if (fault === 'lease-renewal') h.blob.failNext(1, 503, 'leaseBlob');
        outcomes = await Promise.all([run('A', { mode: modeA }), run('B', { mode: modeB })]);
      }
      for (const o of outcomes) seen.add(`${o.action}${o.code === undefined ? '' : ` ${o.code}`}`);
      const state = `round ${round} (${fault}, ${modeA}/${modeB}): ${JSON.stringify(outcomes)}`;
      expect(holdsLiveKey(h), state).toBe(true);
      expect(await stsAccepts(h, latestVersion(h).value), state).toBe(true);
      // What a run says it did is what the secret shows, when the other run changed nothing.
      const [rotated, ...others] = [...outcomes].sort((x) => (x.action === 'rotated' ? -1 : 1));
      if (rotated?.action === 'rotated' && others.every((o) => o.action === 'skipped'))
        expect(latestVersion(h).tags.keyName, state).toBe(rotated.keyName);
      h.vault.failNextWrites(0, 500);
      h.arm.failNext(0, { status: 500 });
      h.blob.failNext(0, 500);
    }
    // The loop met what it was meant to: A's late regeneration seen and put right.
    expect([...seen]).toContain('failed rotation_conflict');
    await expectLive(h);
  }, 180_000);
});
