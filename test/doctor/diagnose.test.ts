import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALLERS, diagnose, type Finding } from '../../src/doctor/diagnose.js';
import type { Dependencies } from '../../src/composition.js';
import { regionsFor } from '../../src/kinds/sts/regions.js';
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
async function run(env: Record<string, string>, locate = false, locateAllClouds = false): Promise<Finding[]> {
  const findings = await diagnose(env, dependencies, { locate, locateAllClouds });
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

  it('key_rejected without --locate suggests it, and says where it would send the key', async () => {
    h.vault.setSecret('speech-key', KEYS.china);
    const [finding] = await run(only(speech));
    expect(finding).toMatchObject({
      cause: 'key_rejected',
      fix: expect.stringContaining(
        'it sends the key to the other regional endpoints of AzureCloud only; add --all-clouds to try the other clouds too',
      ),
    });
  });

  it('--locate: region_mismatch with where the key was accepted', async () => {
    const [finding] = await run(only({ ...speech, region: 'westeurope' }), true);
    expect(finding).toMatchObject({ cause: 'region_mismatch', foundAt: { cloud: 'AzureCloud', region: 'japanwest' } });
    expect(finding?.fix).toContain('"region": "japanwest"');
  });

  it('--locate: an Azure China key at a public endpoint is looked for in the public cloud only, and the finding says so', async () => {
    h.vault.setSecret('speech-key', KEYS.china);
    h.cognitive.resetCalls();
    const [finding] = await run(only(speech), true);
    expect(finding).toMatchObject({
      cause: 'key_rejected',
      detail: expect.stringContaining(
        'no regional endpoint of AzureCloud accepts the key in secret "speech-key" (32 characters, ending "…e1f0"); the other clouds (AzureChinaCloud, AzureUSGovernment) were not tried.',
      ),
      fix: expect.stringContaining(
        '`npm run doctor -- --locate --all-clouds` sends it to AzureChinaCloud and AzureUSGovernment too',
      ),
    });
    const hosts = new Set(h.cognitive.calls.map((c) => c.host));
    expect([...hosts].filter((host) => !host.endsWith('.api.cognitive.microsoft.com'))).toEqual([]);
    // japanwest, then every other public Speech region, once.
    expect(hosts.size).toBe(regionsFor('speech', 'AzureCloud').length);
  });

  it('--locate --all-clouds: cloud_mismatch for an Azure China key at a public endpoint', async () => {
    h.vault.setSecret('speech-key', KEYS.china);
    const [finding] = await run(only(speech), true, true);
    expect(finding).toMatchObject({
      cause: 'cloud_mismatch',
      foundAt: { cloud: 'AzureChinaCloud', region: 'chinaeast2' },
    });
  });

  it('--locate --all-clouds: a key that belongs nowhere is key_rejected with the remaining explanations', async () => {
    h.vault.setSecret('speech-key', KEYS.speechRotated);
    const [finding] = await run(only(speech), true, true);
    expect(finding).toMatchObject({
      cause: 'key_rejected',
      detail: expect.stringContaining('no regional endpoint in any cloud accepts the key'),
      fix: expect.stringContaining('10 minutes'),
    });
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
