import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeKeyVaultCredential } from '../../devstack/fakes/keyVault.js';
import { diagnose } from '../../src/doctor/diagnose.js';
import { createTimers } from '../../src/functions/timers.js';
import { createSecretClient } from '../../src/secrets/keyVaultSecretSource.js';
import { expectNoKeys, IDENTITY_CLIENT_ID, startRotationHarness, type RotationHarness } from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

// "Self-check writes": the self-check, every 5 minutes, only reads. With key rotation on it makes
// no ARM permissions call and no Key Vault write (which could undo a tag an operator just edited);
// `npm run doctor` still checks the rotation's permissions.

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

let h: RotationHarness;
const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
  h.clock.now = T0 + 12 * DAY;
});
afterEach(async () => {
  expectNoKeys(h.logText(), h.arm.everyKey());
  await h.close();
});

async function selfCheck(): Promise<Record<string, unknown>[]> {
  const timer = createTimers(h.services.jobs).find((t) => t.name === 'self-check');
  if (timer === undefined) throw new Error('no self-check timer');
  const lines: string[] = [];
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: 'self-check',
    logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
  });
  await timer.run(context);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.event === 'resource_health');
}

describe('the self-check with key rotation on', () => {
  it('reports the rotated resources healthy with no ARM call and no Key Vault write', async () => {
    const health = await selfCheck();
    expect(health.map((l) => [l.resource, l.healthy])).toEqual(
      ['speech', 'speech-cn', 'speech-gov', 'speech-custom', 'translator', 'multi'].map((r) => [r, true]),
    );
    expect(String(health.find((l) => l.resource === 'speech')?.detail)).toContain('key1, 12 days old');
    expect(h.arm.calls).toEqual([]);
    expect(h.vault.writes).toEqual({ put: 0, patch: 0 });
  });

  it('leaves a tag an operator edited after the service read the secret as the operator left it', async () => {
    await selfCheck(); // the secret versions are now cached, with their tags as they were
    const client = createSecretClient(h.vault.vaultUrl, fakeKeyVaultCredential, {
      tlsOptions: { ca: h.vault.certificatePem },
    });
    const version = h.vault.versions('speech-key').at(-1)?.version ?? '';
    const edited = { keyName: 'key1', rotatedAt: new Date(T0).toISOString(), owner: 'ops' };
    await client.updateSecretProperties('speech-key', version, { tags: edited });
    h.clock.now += 5 * 60_000;
    await selfCheck();
    expect(h.vault.versions('speech-key').at(-1)?.tags).toEqual(edited);
    expect(h.vault.writes).toEqual({ put: 0, patch: 1 });
  });

  it('the doctor still checks that the identity may rotate: the permissions, without using them', async () => {
    const findings = await diagnose(h.env, h.dependencies);
    expect(findings.find((f) => f.resource === 'speech')).toMatchObject({ ok: true });
    expect(h.arm.calls.map((c) => c.operation)).toEqual(['permissions', 'permissions', 'permissions']);
    expect(h.vault.writes.put).toBe(0);
  });
});
