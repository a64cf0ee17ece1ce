import { request } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeArm, type FakeArm } from '../../devstack/fakes/arm.js';
import { startFakeCognitive, type FakeCognitive } from '../../devstack/fakes/cognitive.js';
import type { TokenResource } from '../../src/model.js';
import { AccountKeysClient } from '../../src/rotation/accountKeys.js';
import { RotationError } from '../../src/rotation/rotationError.js';
import { createServiceCredential } from '../../src/serviceCredential.js';
import type { UpstreamOutcome, UpstreamTarget } from '../../src/telemetry/telemetry.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const CLIENT_ID = '2d4f6a8c-1b3d-4e5f-9a7b-c8d9e0f1a2b3';
const ACCOUNT =
  '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/speech-weu';
const CHINA_ACCOUNT =
  '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-cn/providers/Microsoft.CognitiveServices/accounts/speech-cn';
const STS = 'https://westeurope.api.cognitive.microsoft.com/sts/v1.0/issueToken';

const resource = (resourceId: string | null, cloud: TokenResource['cloud'] = 'AzureCloud'): TokenResource => ({
  name: 'speech',
  kind: 'speech',
  cloud,
  region: cloud === 'AzureCloud' ? 'westeurope' : 'chinaeast2',
  endpoint: null,
  privateEndpoint: false,
  secretName: 'speech-key',
  allowedRoles: ['Speech.Token'],
  allowedScopes: [],
  resourceId,
});

let cognitive: FakeCognitive;
let arm: FakeArm;
let client: AccountKeysClient;
/** The client's upstream calls as telemetry would time them: upstream, target and how each ended. */
const armCalls: { upstream: string; target: UpstreamTarget; outcome?: UpstreamOutcome }[] = [];

const identity = useFileManagedIdentity({ clientId: CLIENT_ID });
beforeAll(async () => {
  cognitive = await startFakeCognitive({ keys: [] });
  arm = await startFakeArm({
    cognitive,
    acceptToken: (token) =>
      ['https://management.azure.com', 'https://management.chinacloudapi.cn'].some((audience) =>
        identity().tokensFor(audience).includes(token),
      ),
  });
  arm.addAccount(ACCOUNT, { cloud: 'AzureCloud', region: 'westeurope' });
  arm.addAccount(CHINA_ACCOUNT, { cloud: 'AzureChinaCloud', region: 'chinaeast2' });
  // The app's own credential: the managed identity found through IDENTITY_ENDPOINT, as in Azure.
  client = new AccountKeysClient({
    credential: createServiceCredential({ managedIdentity: true, clientId: CLIENT_ID }),
    armEndpoint: arm.url,
    pipelineOptions: { tlsOptions: { ca: arm.certificatePem }, retryOptions: { maxRetries: 0 } },
    telemetry: {
      upstreamCall(upstream, target) {
        const call: (typeof armCalls)[number] = { upstream, target };
        armCalls.push(call);
        return { end: (outcome) => (call.outcome = outcome) };
      },
    },
  });
});
afterAll(async () => {
  await Promise.all([cognitive.close(), arm.close()]);
});
beforeEach(() => {
  arm.allowAll();
  arm.failNext(0, { status: 500 });
  arm.resetCalls();
  armCalls.length = 0;
});

async function stsAccepts(key: string): Promise<boolean> {
  const answer = await cognitive.fetch(STS, { method: 'POST', headers: { 'Ocp-Apim-Subscription-Key': key } });
  await answer.body?.cancel();
  return answer.status === 200;
}

async function rotationFailure(promise: Promise<unknown>): Promise<RotationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RotationError)) throw new Error(`expected a RotationError, got ${String(error)}`);
  return error;
}

/** A request as any client could send it, for what AccountKeysClient never sends. */
function raw(path: string, options: { token?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${arm.url}${path}`,
      {
        method: 'POST',
        ca: arm.certificatePem,
        headers: {
          ...(options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` }),
          'Content-Type': 'application/json',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body ?? '');
  });
}

describe('fake ARM, driven by the real client and the real managed-identity credential', () => {
  it("lists the keys with a token for the cloud's ARM audience, at the pinned api-version", async () => {
    const keys = await client.listKeys(resource(ACCOUNT));
    expect(keys).toEqual(arm.keys(ACCOUNT));
    expect(arm.calls).toEqual([{ operation: 'listKeys', account: ACCOUNT, status: 200, apiVersion: '2024-10-01' }]);
    expect(identity().requests).toContainEqual({ resource: 'https://management.azure.com', clientId: CLIENT_ID });
    expect(armCalls).toEqual([
      {
        upstream: 'arm',
        target: { method: 'POST', host: new URL(arm.url).host, resource: 'speech' },
        outcome: { status: 200 },
      },
    ]);
  });

  it('regenerates one key: the STS refuses the old one at once and takes the new one', async () => {
    const before = arm.keys(ACCOUNT);
    expect(await stsAccepts(before.key2)).toBe(true);
    const after = await client.regenerateKey(resource(ACCOUNT), 'key2');
    expect(after.key1).toBe(before.key1);
    expect(after.key2).not.toBe(before.key2);
    expect(arm.calls.at(-1)).toMatchObject({ operation: 'regenerateKey', keyName: 'Key2', status: 200 });
    expect(await stsAccepts(before.key2)).toBe(false);
    expect(await stsAccepts(after.key2)).toBe(true);
    expect(await stsAccepts(before.key1)).toBe(true);
  });

  it("a China account: the token is for the China cloud's ARM audience", async () => {
    await client.listKeys(resource(CHINA_ACCOUNT, 'AzureChinaCloud'));
    expect(identity().requests.map((r) => r.resource)).toContain('https://management.chinacloudapi.cn');
  });

  it('403 AuthorizationFailed for a missing action; the effective permissions say so without calling it', async () => {
    expect(await client.permissions(resource(ACCOUNT))).toEqual({ listKeys: true, regenerateKey: true });
    arm.deny(ACCOUNT, 'regenerateKey');
    expect(await client.permissions(resource(ACCOUNT))).toEqual({ listKeys: true, regenerateKey: false });
    const before = arm.keys(ACCOUNT);
    const error = await rotationFailure(client.regenerateKey(resource(ACCOUNT), 'key1'));
    expect(error.code).toBe('rotation_permission_missing');
    expect(error.diagnosis).toMatch(
      /answered 403 \(AuthorizationFailed\): The client .* does not have authorization to perform action 'Microsoft.CognitiveServices\/accounts\/regenerateKey\/action'/,
    );
    expect(error.fix).toContain('custom role');
    expect(arm.keys(ACCOUNT)).toEqual(before);
    // Timed as the arm upstream, with the cause code on the failed call.
    expect(armCalls.at(-1)).toMatchObject({
      upstream: 'arm',
      outcome: { status: 403, code: 'rotation_permission_missing' },
    });
  });

  it('404 ResourceNotFound for an account that does not exist', async () => {
    const error = await rotationFailure(client.listKeys(resource(ACCOUNT.replace('speech-weu', 'nope'))));
    expect(error.code).toBe('rotation_account_not_found');
    expect(error.diagnosis).toContain('answered 404 (ResourceNotFound)');
  });

  it('can fail after regenerating: the key changed although the client heard 503', async () => {
    const before = arm.keys(ACCOUNT);
    arm.failNext(1, { status: 503, afterRegenerate: true }, 'regenerateKey');
    const error = await rotationFailure(client.regenerateKey(resource(ACCOUNT), 'key1'));
    expect(error.code).toBe('rotation_arm_unavailable');
    expect(arm.keys(ACCOUNT).key1).not.toBe(before.key1);
    expect(await stsAccepts(before.key1)).toBe(false);
  });

  it('sends a scripted failure with its headers, word for word (a Retry-After)', async () => {
    arm.failNext(1, { status: 429, headers: { 'Retry-After': '3600' } }, 'listKeys');
    const error = await rotationFailure(client.listKeys(resource(ACCOUNT)));
    expect(error.code).toBe('rotation_arm_unavailable');
    expect(error.diagnosis).toContain('answered 429 (TooManyRequests)');
    expect(error.diagnosis).toContain('try again in 60 s');
  });

  it('refuses a token for another audience, no token, no api-version, and a keyName in the wrong case', async () => {
    const path = `${ACCOUNT}/regenerateKey?api-version=2024-10-01`;
    expect(await raw(path, { token: 'not-an-arm-token', body: '{"keyName":"Key1"}' })).toMatchObject({
      status: 401,
      body: expect.stringContaining('InvalidAuthenticationTokenAudience'),
    });
    expect(await raw(path)).toMatchObject({ status: 401, body: expect.stringContaining('AuthenticationFailed') });
    const token = identity().tokensFor('https://management.azure.com')[0] ?? '';
    expect(await raw(`${ACCOUNT}/listKeys`, { token })).toMatchObject({
      status: 400,
      body: expect.stringContaining('MissingApiVersionParameter'),
    });
    expect(await raw(path, { token, body: '{"keyName":"key1"}' })).toMatchObject({
      status: 400,
      body: expect.stringContaining("Valid values are 'Key1' and 'Key2'"),
    });
  });

  it('is HTTPS only: the bearer policy sends no token over http, which is why ARM_ENDPOINT must be https', async () => {
    const overHttp = new AccountKeysClient({
      credential: createServiceCredential({ managedIdentity: true, clientId: CLIENT_ID }),
      armEndpoint: 'http://127.0.0.1:9',
      pipelineOptions: { retryOptions: { maxRetries: 0 } },
    });
    const error = await rotationFailure(overHttp.listKeys(resource(ACCOUNT)));
    expect(error.code).toBe('rotation_arm_unavailable');
    expect(error.diagnosis).toMatch(
      /Bearer token authentication is not permitted for non-TLS protected \(non-https\) URLs/,
    );
  });

  it('needs its certificate as a trust anchor', async () => {
    const untrusting = new AccountKeysClient({
      credential: createServiceCredential({ managedIdentity: true, clientId: CLIENT_ID }),
      armEndpoint: arm.url,
      pipelineOptions: { retryOptions: { maxRetries: 0 } },
    });
    const error = await rotationFailure(untrusting.listKeys(resource(ACCOUNT)));
    expect(error.diagnosis).toMatch(/self-signed certificate|DEPTH_ZERO_SELF_SIGNED_CERT/i);
  });
});
