import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT_IDS,
  expectNoKeys,
  IDENTITY_CLIENT_ID,
  startRotationHarness,
  type RotationHarness,
} from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

// What Azure Resource Manager says, believed no more than it should be. "Retry-After": the
// rotation's ARM calls do not wait out a long one (until their 30 s budget ends as a misleading
// timeout); they fail at once and say to try again in at most a minute. "Keys in logs": an ARM
// error message quoting a key reaches no outcome or log line.

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

let h: RotationHarness;
const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
  h.clock.now = T0 + 31 * DAY;
});
afterEach(async () => {
  expectNoKeys(h.logText(), h.arm.everyKey());
  await h.close();
});

describe('Azure Resource Manager asking to wait', () => {
  it.each([
    ['429, Retry-After: 3600', 429 as const, { 'Retry-After': '3600' }],
    [
      '503, Retry-After: a date an hour ahead',
      503 as const,
      { 'Retry-After': new Date(Date.now() + 3_600_000).toUTCString() },
    ],
    ['429, x-ms-retry-after-ms: 3600000', 429 as const, { 'x-ms-retry-after-ms': '3600000' }],
  ])('%s: the rotation fails at once, rotation_arm_unavailable, "try again in 60 s"', async (_, status, headers) => {
    h.arm.failNext(10, { status, headers }, 'listKeys');
    const [outcome] = await h.parts.rotation.run({ mode: 'due', resource: 'speech' });
    expect(outcome).toMatchObject({
      resource: 'speech',
      action: 'failed',
      code: 'rotation_arm_unavailable',
      detail: expect.stringContaining(`answered ${status} (`) as unknown,
    });
    expect(outcome?.detail).toContain('try again in 60 s');
    // Not waited out until the call's 30 s budget ended as a timeout.
    expect(outcome?.detail).not.toContain('no answer within');
  });
});

describe('an ARM error message quoting a key', () => {
  it('is redacted from the outcome and the log', async () => {
    const { key1, key2 } = h.arm.keys(ACCOUNT_IDS.speech);
    h.arm.failNext(
      1,
      { status: 409, code: 'Conflict', message: `The account's keys ${key1} and ${key2} cannot be listed now.` },
      'listKeys',
    );
    const [outcome] = await h.parts.rotation.run({ mode: 'due', resource: 'speech' });
    expect(outcome).toMatchObject({ action: 'failed', code: 'rotation_arm_refused' });
    expect(outcome?.detail).toContain('[redacted]');
    expectNoKeys(JSON.stringify(outcome) + h.logText(), [key1, key2]);
  });
});
