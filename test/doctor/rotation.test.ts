import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnose, type Finding } from '../../src/doctor/diagnose.js';
import {
  ACCOUNT_IDS,
  expectNoKeys,
  IDENTITY_CLIENT_ID,
  startRotationHarness,
  type RotationHarness,
} from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

let h: RotationHarness;

const identity = useFileManagedIdentity({ clientId: IDENTITY_CLIENT_ID });
beforeEach(async () => {
  h = await startRotationHarness(identity(), { now: T0 });
  h.clock.now = T0 + 12 * DAY;
});
afterEach(async () => {
  await h.close();
});

async function speechFinding(): Promise<Finding> {
  const findings = await diagnose(h.env, h.dependencies);
  expectNoKeys(JSON.stringify(findings), h.arm.everyKey());
  const finding = findings.find((f) => f.resource === 'speech');
  if (finding === undefined) throw new Error('no finding for speech');
  return finding;
}

describe('doctor: key rotation', () => {
  it('per rotated resource: the key in use, its age and the next rotation, after checking the permissions without using them', async () => {
    const versions = h.vault.versions('speech-key');
    const finding = await speechFinding();
    expect(finding).toMatchObject({
      ok: true,
      cause: null,
      detail: expect.stringMatching(/; key1, 12 days old; next rotation 2026-12-31T00:00:00.000Z$/),
      rotation: {
        keyName: 'key1',
        since: '2026-12-01T00:00:00.000Z',
        ageDays: 12,
        nextRotationAt: '2026-12-31T00:00:00.000Z',
      },
    });
    // The effective permissions were read, no key listed or regenerated; the secret's tags were
    // written back unchanged, and no version added.
    expect(h.arm.calls.map((c) => c.operation)).toEqual(['permissions', 'permissions', 'permissions']);
    expect(h.vault.versions('speech-key')).toEqual(versions);
    expect(h.vault.writes.put).toBe(0);
    // A resource without resourceId has no rotation facts.
    const translator = (await diagnose(h.env, h.dependencies)).find((f) => f.resource === 'translator');
    expect(translator).not.toHaveProperty('rotation');
  });

  it('rotation_permission_missing when the identity may not regenerate the keys', async () => {
    h.arm.deny(ACCOUNT_IDS.speech, 'regenerateKey');
    expect(await speechFinding()).toMatchObject({
      ok: false,
      cause: 'rotation_permission_missing',
      detail: expect.stringContaining('lack Microsoft.CognitiveServices/accounts/regenerateKey/action'),
      fix: expect.stringContaining('listKeys/action and .../regenerateKey/action'),
    });
  });

  it('rotation_permission_missing when the identity may read the secret but not write it', async () => {
    h.vault.writeAccess = 'forbidden';
    expect(await speechFinding()).toMatchObject({
      ok: false,
      cause: 'rotation_permission_missing',
      detail: expect.stringContaining('Key Vault answered 403 (Forbidden) writing secret "speech-key"'),
      fix: expect.stringContaining('Key Vault Secrets Officer'),
    });
  });

  it.each([
    [
      "the vault's firewall",
      403,
      {
        code: 'Forbidden',
        message: 'Client address is not authorized and caller is not a trusted service.',
        innerCode: 'ForbiddenByFirewall',
      },
      /^The vault's firewall refused/,
    ],
    [
      'an access-policy vault',
      403,
      {
        code: 'Forbidden',
        message: "The user, group or application 'appid=x' does not have secrets set permission on key vault 'kv'.",
        innerCode: 'ForbiddenByPolicy',
      },
      /access policies: give the function's identity the secret permissions Get, List and Set/,
    ],
    [
      'another tenant',
      401,
      {
        code: 'Unauthorized',
        message:
          'AKV10032: Invalid issuer. Expected one of https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/.',
      },
      /a vault only accepts tokens from its own tenant/,
    ],
    [
      'a deny assignment',
      403,
      {
        code: 'Forbidden',
        message:
          "Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\nAssignment: (not found)\r\nDenyAssignmentId: 3f0e1d2c-aaaa-bbbb-cccc-0123456789ab",
      },
      /^A deny assignment \(3f0e1d2c-aaaa-bbbb-cccc-0123456789ab\) blocks the identity/,
    ],
    [
      'a disabled secret, named as the resource names it',
      403,
      { code: 'Forbidden', message: 'Operation set is not allowed on a disabled secret.', innerCode: 'SecretDisabled' },
      /^Enable the current version of secret "speech-key",/,
    ],
  ])("a write refused by %s gets that refusal's fix, not a role", async (_, status, answer, fix) => {
    h.vault.failNextWrites(1, status, answer);
    const finding = await speechFinding();
    expect(finding).toMatchObject({ ok: false, cause: 'rotation_permission_missing', fix: expect.stringMatching(fix) });
    expect(finding.fix).not.toMatch(/Secrets Officer" on the secret \(the Bicep/);
  });

  it('with scheduled rotation off: the facts, no permission check', async () => {
    h.rebuild({ KEY_ROTATION_DAYS: '0' });
    h.arm.deny('*', 'regenerateKey');
    const finding = await speechFinding();
    expect(finding).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/; key1, 12 days old; scheduled rotation off$/),
      rotation: { keyName: 'key1', nextRotationAt: null },
    });
    expect(h.arm.calls).toEqual([]);
  });
});
