import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALLERS, diagnose, type Finding } from '../../src/doctor/diagnose.js';
import type { Dependencies } from '../../src/composition.js';
import { expectNoKeys, KEYS, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
let dependencies: Dependencies;

beforeEach(async () => {
  h = await startHarness();
  // The harness's wire, with a clock the doctor's retries do not move.
  dependencies = { ...h.dependencies, sleep: async () => {} };
});
afterEach(async () => {
  await h.close();
});

function only(resource: object): Record<string, string> {
  return { ...h.env, TOKEN_RESOURCES: JSON.stringify([resource]) };
}

const speech = {
  name: 'speech',
  kind: 'speech',
  region: 'japanwest',
  secretName: 'speech-key',
  allowedRoles: ['Speech.Token'],
};

/** The findings about resources; the callers' finding is checked on its own. */
async function run(env: Record<string, string>, locate = false): Promise<Finding[]> {
  const findings = await diagnose(env, dependencies, { locate });
  expectNoKeys(JSON.stringify(findings));
  return findings.filter((f) => f.resource !== CALLERS);
}

describe('doctor', () => {
  it('passes every resource of a good configuration, checking Speech tokens with the voices list', async () => {
    const findings = await run(h.env);
    expect(findings.map((f) => [f.resource, f.ok])).toEqual([
      ['speech', true],
      ['speech-cn', true],
      ['speech-gov', true],
      ['speech-custom', true],
      ['translator', true],
      ['multi', true],
    ]);
    expect(h.cognitive.calls.filter((c) => c.path.endsWith('/voices/list')).map((c) => c.host)).toContain(
      'japanwest.tts.speech.microsoft.com',
    );
  });

  it('configuration_invalid, one finding per problem', async () => {
    const findings = await run({
      ...h.env,
      TOKEN_RESOURCES: JSON.stringify([{ ...speech, region: 'chinaeast2' }]),
      AUTH_TENANT_ID: 'x',
    });
    expect(findings.map((f) => [f.resource, f.cause])).toEqual([
      ['AUTH_TENANT_ID', 'configuration_invalid'],
      ['speech', 'configuration_invalid'],
    ]);
    expect(findings[1]?.detail).toContain('belongs to AzureChinaCloud');
  });

  it('keyvault_role_missing names the role to grant', async () => {
    h.vault.accessMode = 'forbidden';
    const [finding] = await run(only(speech));
    expect(finding).toMatchObject({
      ok: false,
      cause: 'keyvault_role_missing',
      fix: expect.stringContaining('Key Vault Secrets User'),
    });
  });

  it('keyvault_unreachable', async () => {
    const [finding] = await run({ ...only(speech), KEY_VAULT_URI: 'https://127.0.0.1:1' });
    expect(finding?.cause).toBe('keyvault_unreachable');
  });

  it('secret_not_found names vault and secret', async () => {
    const [finding] = await run(only({ ...speech, secretName: 'nope' }));
    expect(finding).toMatchObject({ cause: 'secret_not_found' });
    expect(finding?.detail).toContain('"nope"');
    expect(finding?.detail).toContain(h.vault.vaultUrl);
  });

  it('key_looks_like_subscription_id: never sent anywhere, shown by length and last four only', async () => {
    h.vault.setSecret('speech-key', '2d9a6c1b-5f3e-4a7d-8b2c-9e0f1a2b3c4d');
    const [finding] = await run(only(speech));
    expect(finding).toMatchObject({ cause: 'key_looks_like_subscription_id' });
    expect(finding?.detail).toContain('36 characters, ending "…3c4d"');
    expect(JSON.stringify(finding)).not.toContain('2d9a6c1b');
    expect(h.cognitive.calls).toEqual([]);
  });

  it('key_malformed', async () => {
    h.vault.setSecret('speech-key', `"${KEYS.speech}"`);
    const [finding] = await run(only(speech));
    expect(finding).toMatchObject({ cause: 'key_malformed', detail: expect.stringContaining('34 characters') });
  });

  it('key_rejected without --locate suggests it', async () => {
    h.vault.setSecret('speech-key', KEYS.china);
    const [finding] = await run(only(speech));
    expect(finding).toMatchObject({ cause: 'key_rejected', fix: expect.stringContaining('--locate') });
  });

  it('--locate: region_mismatch with where the key was accepted', async () => {
    const [finding] = await run(only({ ...speech, region: 'westeurope' }), true);
    expect(finding).toMatchObject({ cause: 'region_mismatch', foundAt: { cloud: 'AzureCloud', region: 'japanwest' } });
    expect(finding?.fix).toContain('"region": "japanwest"');
  });

  it('--locate: cloud_mismatch for an Azure China key at a public endpoint', async () => {
    h.vault.setSecret('speech-key', KEYS.china);
    const [finding] = await run(only(speech), true);
    expect(finding).toMatchObject({
      cause: 'cloud_mismatch',
      foundAt: { cloud: 'AzureChinaCloud', region: 'chinaeast2' },
    });
  });

  it('--locate: a key that belongs nowhere is key_rejected with the remaining explanations', async () => {
    h.vault.setSecret('speech-key', KEYS.speechRotated);
    const [finding] = await run(only(speech), true);
    expect(finding).toMatchObject({ cause: 'key_rejected', fix: expect.stringContaining('10 minutes') });
  });

  it('local_auth_disabled and network_restricted', async () => {
    h.cognitive.script('*', { status: 403, kind: 'localAuthDisabled' });
    expect((await run(only(speech)))[0]?.cause).toBe('local_auth_disabled');
    h.cognitive.script('*', { status: 403, kind: 'networkRestricted' });
    expect((await run(only(speech)))[0]?.cause).toBe('network_restricted');
  });

  it('sts_unreachable', async () => {
    const [finding] = await run(only({ ...speech, endpoint: 'http://127.0.0.1:1' }));
    expect(finding?.cause).toBe('sts_unreachable');
  });

  it('token_rejected_by_service when the Speech service refuses a fresh token', async () => {
    h.cognitive.rejectTokens = true;
    const [finding] = await run(only(speech));
    expect(finding?.cause).toBe('token_rejected_by_service');
  });
});
