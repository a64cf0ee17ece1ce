import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createFakeKeyVaultCredential,
  fakeKeyVaultCredential,
  startFakeKeyVault,
  type FakeKeyVault,
} from '../../devstack/fakes/keyVault.js';

const TENANT = '4d3c2b1a-0f9e-4d8c-b7a6-958473625140';
let vault: FakeKeyVault;

beforeAll(async () => {
  vault = await startFakeKeyVault({ tenantId: TENANT });
});
afterAll(async () => {
  await vault.close();
});
beforeEach(() => {
  vault.accessMode = 'allow';
  vault.writeAccess = 'allow';
  vault.down = false;
  vault.failNextWrites(0, 500);
  vault.hang = false;
  vault.failNext(0, 500);
  vault.resetCounters();
});

/** Everything a client of the loopback vault must pass; see startFakeKeyVault's doc for why. */
function client(options: SecretClientOptions = {}, credential = fakeKeyVaultCredential): SecretClient {
  return new SecretClient(vault.vaultUrl, credential, {
    tlsOptions: { ca: vault.certificatePem },
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<RestError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRestError(error)) throw new Error(`expected a RestError, got ${String(error)}`);
  return error;
}

describe('fake Key Vault with the real SecretClient', () => {
  it('reads the latest version of a secret after the challenge handshake', async () => {
    vault.setSecret('speech-key', 'first-value');
    const credential = createFakeKeyVaultCredential();
    const secret = await client({}, credential).getSecret('speech-key');
    expect(secret.value).toBe('first-value');
    expect(secret.properties).toMatchObject({
      name: 'speech-key',
      vaultUrl: vault.vaultUrl,
      enabled: true,
      recoveryLevel: 'Recoverable+Purgeable',
    });
    expect(secret.properties.id).toBe(`${vault.vaultUrl}/secrets/speech-key/${secret.properties.version}`);
    // The SDK learnt scope and tenant from the 401 challenge, as against the real service.
    expect(credential.requests).toEqual([{ scopes: ['https://vault.azure.net/.default'], tenantId: TENANT }]);
    expect(vault.requests).toEqual({ get: 1, byName: { 'speech-key': 1 } });
  });

  it('returns the new value after a rotation, and an old version by id', async () => {
    const firstVersion = vault.setSecret('rotated-key', 'old-value');
    vault.setSecret('rotated-key', 'new-value');
    const secrets = client();
    expect((await secrets.getSecret('rotated-key')).value).toBe('new-value');
    expect((await secrets.getSecret('rotated-key', { version: firstVersion })).value).toBe('old-value');
  });

  it('answers a missing secret with 404 SecretNotFound', async () => {
    const error = await failure(client().getSecret('no-such-secret'));
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('SecretNotFound');
    expect(error.message).toContain('A secret with (name/id) no-such-secret was not found in this key vault.');
  });

  it('answers a deleted secret with 404 too', async () => {
    vault.setSecret('short-lived', 'v');
    vault.deleteSecret('short-lived');
    expect((await failure(client().getSecret('short-lived'))).code).toBe('SecretNotFound');
  });

  it('answers an identity without a role with 403 Forbidden (ForbiddenByRbac)', async () => {
    vault.setSecret('speech-key', 'value');
    vault.accessMode = 'forbidden';
    const error = await failure(client().getSecret('speech-key'));
    expect(error.statusCode).toBe(403);
    expect(error.code).toBe('Forbidden');
    expect(error.message).toContain('Caller is not authorized to perform action on resource.');
    expect(JSON.stringify(error.details)).toContain('ForbiddenByRbac');
  });

  it('answers a disabled secret with 403 Forbidden (SecretDisabled)', async () => {
    vault.setSecret('disabled-key', 'value');
    vault.disableSecret('disabled-key');
    const error = await failure(client().getSecret('disabled-key'));
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe('Operation get is not allowed on a disabled secret.');
    expect(JSON.stringify(error.details)).toContain('SecretDisabled');
  });

  it('is refused by the SDK unless challenge resource verification is off (the challenge names vault.azure.net)', async () => {
    vault.setSecret('speech-key', 'value');
    await expect(client({ disableChallengeResourceVerification: false }).getSecret('speech-key')).rejects.toThrow(
      /challenge resource 'vault.azure.net' does not match the requested domain/,
    );
    expect(vault.requests.get).toBe(0);
  });

  it('is refused without the certificate as a trust anchor', async () => {
    const untrusting = new SecretClient(vault.vaultUrl, fakeKeyVaultCredential, {
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });
    await expect(untrusting.getSecret('speech-key')).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('scripts transient failures that the SDK retries, counting every authenticated read', async () => {
    vault.setSecret('speech-key', 'value');
    vault.failNext(2, 503);
    const secret = await client({ retryOptions: { maxRetries: 2, retryDelayInMs: 1, maxRetryDelayInMs: 1 } }).getSecret(
      'speech-key',
    );
    expect(secret.value).toBe('value');
    expect(vault.requests.get).toBe(3);
  });

  it('scripts 429 with Retry-After', async () => {
    vault.failNext(1, 429, { retryAfterSeconds: 7 });
    const error = await failure(client().getSecret('speech-key'));
    expect(error.statusCode).toBe(429);
    expect(error.code).toBe('Throttled');
    expect(error.response?.headers.get('retry-after')).toBe('7');
  });

  it('hangs when told to; the client times out and close() still closes', async () => {
    const hanging = await startFakeKeyVault();
    hanging.hang = true;
    const secrets = new SecretClient(hanging.vaultUrl, fakeKeyVaultCredential, {
      tlsOptions: { ca: hanging.certificatePem },
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });
    const started = Date.now();
    await expect(secrets.getSecret('speech-key', { abortSignal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    const pending = secrets.getSecret('speech-key').catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await hanging.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('fake Key Vault: writes with the real SecretClient', () => {
  it('setSecret adds a version with its value, tags, content type and expiry, after the challenge; getSecret returns them', async () => {
    vault.setSecret('written-key', 'first-value', { tags: { keyName: 'key1' } });
    const credential = createFakeKeyVaultCredential();
    const secrets = client({}, credential);
    const expiresOn = new Date('2027-01-30T00:00:00Z');
    const written = await secrets.setSecret('written-key', 'second-value', {
      tags: { keyName: 'key2', rotatedAt: '2026-12-01T00:00:00.000Z' },
      contentType: 'text/plain; Azure AI services key2',
      expiresOn,
    });
    // The first request of a client goes out without a token (and with an empty body), as against the real vault.
    expect(credential.requests).toEqual([{ scopes: ['https://vault.azure.net/.default'], tenantId: TENANT }]);
    expect(written.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(vault.writes).toEqual({ put: 1, patch: 0 });
    const read = await secrets.getSecret('written-key');
    expect(read.value).toBe('second-value');
    expect(read.properties).toMatchObject({
      version: written.properties.version,
      tags: { keyName: 'key2', rotatedAt: '2026-12-01T00:00:00.000Z' },
      contentType: 'text/plain; Azure AI services key2',
      expiresOn,
    });
    expect(vault.versions('written-key').map((v) => [v.value, v.tags.keyName])).toEqual([
      ['first-value', 'key1'],
      ['second-value', 'key2'],
    ]);
    // Older versions stay readable by id.
    const [first] = vault.versions('written-key');
    expect((await secrets.getSecret('written-key', { version: first?.version ?? '' })).value).toBe('first-value');
  });

  it("updateSecretProperties changes a version's tags in place, without a new version", async () => {
    const version = vault.setSecret('patched-key', 'value', { tags: { keyName: 'key1' } });
    await client().updateSecretProperties('patched-key', version, { tags: { keyName: 'key1', note: 'x' } });
    expect(vault.versions('patched-key')).toEqual([
      expect.objectContaining({ version, tags: { keyName: 'key1', note: 'x' } }),
    ]);
    expect(vault.writes).toEqual({ put: 0, patch: 1 });
    expect((await failure(client().updateSecretProperties('patched-key', 'f'.repeat(32), {}))).statusCode).toBe(404);
  });

  it('refuses writes with 403 ForbiddenByRbac for an identity that may only read', async () => {
    vault.setSecret('read-only-key', 'value');
    vault.writeAccess = 'forbidden';
    const error = await failure(client().setSecret('read-only-key', 'other'));
    expect(error.statusCode).toBe(403);
    expect(error.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'");
    expect((await client().getSecret('read-only-key')).value).toBe('value');
    expect(vault.versions('read-only-key')).toHaveLength(1);
  });

  it('scripts write failures, which change nothing', async () => {
    vault.failNextWrites(1, 500);
    expect((await failure(client().setSecret('failing-key', 'value'))).statusCode).toBe(500);
    expect(vault.versions('failing-key')).toEqual([]);
    await client().setSecret('failing-key', 'value');
    expect(vault.versions('failing-key')).toHaveLength(1);
  });

  it('parks a write until released, so two writers can be interleaved', async () => {
    const held = vault.holdNextWrite();
    const parked = client().setSecret('held-key', 'first');
    await held.arrived;
    await client().setSecret('held-key', 'second');
    held.release();
    await parked;
    expect(vault.versions('held-key').map((v) => v.value)).toEqual(['second', 'first']);
  });

  it('drops every connection while down: the client sees a network error', async () => {
    vault.down = true;
    const error: unknown = await client()
      .getSecret('speech-key')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isRestError(error) ? error.statusCode : undefined).toBeUndefined();
    expect(vault.requests.get).toBe(0);
  });
});
