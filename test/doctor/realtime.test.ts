/** The doctor on openai-realtime resources: identity, one mint thrown away, the WebRTC URL; each failure named. */
import type { TokenCredential } from '@azure/core-auth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Dependencies } from '../../src/composition.js';
import { CALLERS, diagnose, type Finding } from '../../src/doctor/diagnose.js';
import { runSelfCheck } from '../../src/services/selfCheck.js';
import { Logger } from '../../src/log/logger.js';
import { expectNoKeys, OPENAI_ACCOUNTS, REALTIME_RESOURCES, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
let dependencies: Dependencies;

beforeEach(async () => {
  h = await startHarness();
  dependencies = { ...h.dependencies, sleep: async () => {} };
});
afterEach(async () => {
  await h.close();
});

const assistant = REALTIME_RESOURCES[0]!;
const keyed = REALTIME_RESOURCES[1]!;

async function run(resources: readonly object[], deps = dependencies): Promise<Finding[]> {
  const findings = await diagnose({ ...h.env, TOKEN_RESOURCES: JSON.stringify(resources) }, deps);
  const text = JSON.stringify(findings);
  expectNoKeys(text);
  for (const mint of h.openai.mints) if (mint.value !== undefined) expect(text).not.toContain(mint.value);
  return findings.filter((f) => f.resource !== CALLERS);
}

describe('doctor: openai-realtime', () => {
  it('passes a good resource: the identity’s token for the audience, one mint, the WebRTC URL', async () => {
    const [finding] = await run([assistant]);
    expect(finding).toEqual({
      resource: 'assistant',
      ok: true,
      cause: null,
      detail:
        'the managed identity has a token for https://cognitiveservices.azure.com; contoso-aoai.openai.azure.com minted a key for deployment "gpt-realtime" (model gpt-realtime, voice marin, 60 s; discarded); callers connect to https://contoso-aoai.openai.azure.com/openai/v1/realtime/calls?webrtcfilter=on',
      fix: null,
    });
    expect(h.openai.mints).toHaveLength(1);
    expect(h.openai.mints[0]).toMatchObject({ account: OPENAI_ACCOUNTS.keyless, auth: 'entra', status: 200 });
  });

  it('passes a key-mode resource, reading its secret', async () => {
    const [finding] = await run([keyed]);
    expect(finding).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^the key in secret "assistant-keyed-key" was read; /),
    });
    expect(h.openai.mints[0]).toMatchObject({ auth: 'api-key' });
  });

  it('names a missing deployment, with its fix', async () => {
    const [finding] = await run([{ ...assistant, deployment: 'gpt-realtim' }]);
    expect(finding).toMatchObject({
      ok: false,
      cause: 'deployment_not_found',
      detail: expect.stringContaining('the resource has no deployment "gpt-realtim"'),
      fix: expect.stringContaining('Set "deployment" to the name of a GPT Realtime deployment'),
    });
  });

  it('names a missing data role, with the role and how to grant it', async () => {
    h.openai.setIdentityRole(OPENAI_ACCOUNTS.keyless, false);
    const [finding] = await run([assistant]);
    expect(finding).toMatchObject({
      ok: false,
      cause: 'identity_role_missing',
      fix: expect.stringContaining('"Cognitive Services OpenAI User" (role id 5e0bd9bd-7b93-4f28-af87-19fc36ad61bd)'),
    });
  });

  it('names a deployment of a chat model', async () => {
    const [finding] = await run([{ ...assistant, deployment: 'gpt-4o' }]);
    expect(finding).toMatchObject({ ok: false, cause: 'model_not_realtime' });
  });

  it('stops at the identity when it has no token, before any mint', async () => {
    const noIdentity: TokenCredential = {
      getToken: () =>
        Promise.reject(
          Object.assign(new Error('ManagedIdentityCredential: no endpoint'), { name: 'CredentialUnavailableError' }),
        ),
    };
    const [finding] = await run([assistant], { ...dependencies, credential: noIdentity });
    expect(finding).toMatchObject({
      ok: false,
      cause: 'openai_auth_failed',
      detail: expect.stringContaining('no token for https://cognitiveservices.azure.com/.default'),
    });
    expect(h.openai.mints).toEqual([]);
  });

  it('names key authentication turned off for a key-mode resource', async () => {
    const [finding] = await run([{ ...keyed, endpoint: 'https://contoso-aoai.openai.azure.com' }]);
    expect(finding).toMatchObject({
      ok: false,
      cause: 'local_auth_disabled',
      fix: expect.stringContaining('Remove "secretName"'),
    });
  });

  it('is what the self-check logs per realtime resource', async () => {
    h.rebuild({ TOKEN_RESOURCES: JSON.stringify([assistant, { ...keyed, deployment: 'nope' }]) });
    const logs: string[] = [];
    const correlation = { invocationId: 'i', correlationId: 'c', traceParent: undefined };
    const results = await runSelfCheck(h.parts, new Logger((_, line) => logs.push(line)), correlation);
    expect(results.map((r) => [r.resource, r.healthy, r.code])).toEqual([
      ['assistant', true, null],
      ['assistant-keyed', false, 'deployment_not_found'],
    ]);
    expectNoKeys(logs.join('\n'));
  });
});
