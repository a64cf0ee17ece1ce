import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoutes } from '../../src/functions/routes.js';
import { createTimers } from '../../src/functions/timers.js';
import { createServices } from '../../src/composition.js';
import { buildInstance } from '../support/harness.js';
import {
  ACCOUNT_IDS,
  expectNoKeys,
  IDENTITY_CLIENT_ID,
  ROTATED_RESOURCES,
  startRotationHarness,
  type RotationHarness,
} from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;
const STEP = 2 * 60_000;
const JAPANWEST_STS = 'https://japanwest.api.cognitive.microsoft.com/sts/v1.0/issueToken';

let h: RotationHarness;

const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeAll(async () => {
  h = await startRotationHarness(identity(), {
    now: T0,
    settings: {
      TOKEN_RESOURCES: JSON.stringify(ROTATED_RESOURCES.filter((r) => r.name === 'speech')),
      KEY_ROTATION_DAYS: '1',
    },
  });
});
afterAll(async () => {
  await h.close();
});

async function stsAccepts(key: string): Promise<boolean> {
  const answer = await h.cognitive.fetch(JAPANWEST_STS, {
    method: 'POST',
    headers: { 'Ocp-Apim-Subscription-Key': key },
  });
  await answer.body?.cancel();
  return answer.status === 200;
}

describe('continuous token traffic across rotations', () => {
  it('two scheduled rotations and one --leaked: every answer 200, no expired token, and no key from before the leak works after it', async () => {
    // Instance A runs the timer (in Azure one instance holds the timer's lease); instance B starts
    // 25 minutes later, so the two read the secret at different moments; the leak is handled by
    // `npm run rotate -- --leaked`, a process of its own.
    const instanceA = h.routes;
    let instanceB: typeof instanceA | undefined;
    const timer = createTimers(h.services.jobs).find((t) => t.name === 'key-rotation');
    if (timer === undefined) throw new Error('no key-rotation timer');
    const cli = buildInstance(h.env, h.dependencies).parts;
    if (cli instanceof Error) throw cli;

    let nextTick = timer.schedule.nextAfter(h.clock.now) ?? Number.POSITIVE_INFINITY;
    const leakAt = T0 + 51 * HOUR;
    const end = T0 + 54 * HOUR;
    let beforeLeak: readonly string[] = [];
    let caller = '';
    let callerExpires = 0;
    const statuses = new Map<number, number>();
    let served = 0;
    let expiredServed = 0;

    // Bounded: 54 fake hours in 2-minute steps, two instances each asking once per step.
    for (let step = 0; h.clock.now < end; step++, h.clock.now += STEP) {
      if (h.clock.now >= nextTick) {
        await timer.run(new InvocationContext({ invocationId: `tick-${step}`, functionName: 'key-rotation' }));
        nextTick = timer.schedule.nextAfter(h.clock.now) ?? Number.POSITIVE_INFINITY;
      }
      if (beforeLeak.length === 0 && h.clock.now >= leakAt) {
        const keys = h.arm.keys(ACCOUNT_IDS.speech);
        beforeLeak = [keys.key1, keys.key2];
        const [outcome] = await cli.rotation.run({ mode: 'leaked', resource: 'speech' });
        expect(outcome).toMatchObject({ action: 'rotated' });
      }
      if (instanceB === undefined && h.clock.now >= T0 + 25 * 60_000) {
        instanceB = createRoutes(createServices(h.env, h.dependencies));
      }
      if (h.clock.now >= callerExpires - 5 * 60_000) {
        callerExpires = h.clock.now + 2 * HOUR;
        caller = await h.callerToken({ exp: Math.floor(callerExpires / 1000) });
      }
      for (const routes of instanceB === undefined ? [instanceA] : [instanceA, instanceB]) {
        const response = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${caller}` }, routes);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status !== 200) continue;
        served++;
        const body = response.json as { expiresOn: string; expiresInSeconds: number };
        if (Date.parse(body.expiresOn) <= h.clock.now || body.expiresInSeconds <= 0) expiredServed++;
      }
    }

    expect(Object.fromEntries(statuses)).toEqual({ 200: served });
    expect(served).toBe(1620 + 1620 - 13);
    expect(expiredServed).toBe(0);
    const rotations = h.logs
      .map((line) => line.text)
      .filter((text) => text.includes('"event":"key_rotated"'))
      .map((text) => JSON.parse(text) as { keyName: string; mode: string; invocationId?: string });
    expect(rotations.map((r) => [r.mode, r.keyName])).toEqual([
      ['due', 'key2'],
      ['due', 'key1'],
      ['leaked', 'key2'],
    ]);
    expect(h.logText()).not.toMatch(/key_rotation_failed/);
    // Each instance met the leaked key once: an STS 401, a fresh read of the secret, a new token.
    const sts = h.cognitive.calls.filter((c) => c.path.endsWith('/issueToken'));
    expect(sts.filter((c) => c.status === 401)).toHaveLength(2);
    // Upstream cost of the three rotations: three new secret versions, and per rotation two
    // listKeys and one regenerateKey (the leaked one regenerates twice).
    expect(h.vault.writes).toEqual({ put: 3, patch: 0 });
    expect(h.arm.calls.map((c) => c.operation).sort()).toEqual([
      ...Array<string>(6).fill('listKeys'),
      ...Array<string>(4).fill('regenerateKey'),
    ]);
    for (const key of beforeLeak) expect(await stsAccepts(key)).toBe(false);
    const now = h.arm.keys(ACCOUNT_IDS.speech);
    expect(h.vault.versions('speech-key').at(-1)?.value).toBe(now.key2);
    expect(await stsAccepts(now.key2)).toBe(true);
    expectNoKeys(h.logText(), h.arm.everyKey());
  }, 120_000);
});
