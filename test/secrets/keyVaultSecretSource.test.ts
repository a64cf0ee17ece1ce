import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeKeyVaultCredential, startFakeKeyVault, type FakeKeyVault } from '../../devstack/fakes/keyVault.js';
import type { VendingError } from '../../src/errors/serviceError.js';
import { Logger } from '../../src/log/logger.js';
import { KeyVaultSecretSource } from '../../src/secrets/keyVaultSecretSource.js';

// The real SecretClient against the fake vault (TLS), with the source's own clock.
let vault: FakeKeyVault;
const clock = { now: Date.UTC(2030, 0, 1) };

beforeAll(async () => {
  vault = await startFakeKeyVault({ now: () => clock.now });
});
afterAll(async () => {
  await vault.close();
});
beforeEach(() => {
  vault.accessMode = 'allow';
  vault.failNext(0, 500);
  vault.setSecret('speech-key', 'a1b2c3d4e5f60718293a4b5c6d7e8f90');
  vault.resetCounters();
});

function source(kept: { name: string; code: string }[] = []) {
  return new KeyVaultSecretSource({
    vaultUrl: vault.vaultUrl,
    credential: fakeKeyVaultCredential,
    now: () => clock.now,
    // One request per read, so request counts are reads.
    clientOptions: { tlsOptions: { ca: vault.certificatePem }, retryOptions: { maxRetries: 0 } },
    logger: new Logger((_, line) => {
      const fields = JSON.parse(line) as { event: string; secret: string; code: string };
      if (fields.event === 'secret_read_failed_kept_cached') kept.push({ name: fields.secret, code: fields.code });
    }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error as VendingError).code,
  );
}

describe('KeyVaultSecretSource when the vault fails', () => {
  it('keeps the value read before past its age while the vault fails, re-reading once per 5 s', async () => {
    const kept: { name: string; code: string }[] = [];
    const secrets = source(kept);
    expect((await secrets.getSecret('speech-key')).value).toBe('a1b2c3d4e5f60718293a4b5c6d7e8f90');
    clock.now += 61 * 60_000; // past the 60-minute age
    vault.failNext(100, 503);
    for (let i = 0; i < 20; i++) {
      expect((await secrets.getSecret('speech-key')).value).toBe('a1b2c3d4e5f60718293a4b5c6d7e8f90');
      clock.now += 200; // 4 s in all
    }
    expect(vault.requests.get).toBe(2);
    expect(kept).toEqual([{ name: 'speech-key', code: 'keyvault_unavailable' }]);
    clock.now += 1000; // 5 s after the failed read
    await secrets.getSecret('speech-key');
    expect(vault.requests.get).toBe(3);
    expect(kept).toHaveLength(2);
  });

  it('does not keep a value after the STS rejected it (refresh), nor a deleted or forbidden secret', async () => {
    const secrets = source();
    await secrets.getSecret('speech-key');
    vault.failNext(1, 500);
    expect(await codeOf(secrets.getSecret('speech-key', { refresh: true }))).toBe('keyvault_unavailable');
    clock.now += 61 * 60_000;
    vault.accessMode = 'forbidden';
    expect(await codeOf(secrets.getSecret('speech-key'))).toBe('keyvault_role_missing');
    vault.accessMode = 'allow';
    vault.deleteSecret('speech-key');
    clock.now += 5000;
    expect(await codeOf(secrets.getSecret('speech-key'))).toBe('secret_not_found');
  });

  it('without a value read before: the failure, remembered for 5 s from the attempt', async () => {
    const secrets = source();
    vault.failNext(100, 500);
    const codes = [];
    for (let i = 0; i < 20; i++) {
      codes.push(await codeOf(secrets.getSecret('speech-key')));
      clock.now += 200;
    }
    expect(new Set(codes)).toEqual(new Set(['keyvault_unavailable']));
    expect(vault.requests.get).toBe(1);
    clock.now += 1000;
    vault.failNext(0, 500);
    expect(await codeOf(secrets.getSecret('speech-key'))).toBe('ok');
    expect(vault.requests.get).toBe(2);
  });
});
