import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallerAuthenticator } from '../../src/auth/callerAuthentication.js';
import { VendingError } from '../../src/errors/serviceError.js';
import { startFakeEntra, type FakeEntra } from '../../devstack/fakes/entra.js';

const TENANT = '3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
let entra: FakeEntra;

beforeEach(async () => {
  entra = await startFakeEntra({ tenantId: TENANT });
});
afterEach(async () => {
  await entra.close();
});

function authenticator(
  jwksCooldownMs?: number,
  cloud: 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment' = 'AzureCloud',
) {
  return new CallerAuthenticator({
    tenantId: TENANT,
    audiences: ['api://token-vending', 'client-id-guid'],
    authorityHost: entra.authorityHost,
    cloud,
    ...(jwksCooldownMs === undefined ? {} : { jwksCooldownMs }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as VendingError).code;
  }
}

describe('CallerAuthenticator', () => {
  it('returns the caller: oid, roles, space-separated scopes, client app', async () => {
    const caller = await authenticator().authenticate(
      `Bearer ${await entra.mint({ oid: 'o-1', roles: ['A', 'B'], scp: 'x y', azp: 'app' })}`,
    );
    expect(caller).toEqual({ id: 'o-1', tenantId: TENANT, roles: ['A', 'B'], scopes: ['x', 'y'], clientAppId: 'app' });
  });

  it('accepts any configured audience, and the v1.0 issuer of its cloud', async () => {
    const auth = authenticator(undefined, 'AzureChinaCloud');
    expect(await codeOf(auth.authenticate(`Bearer ${await entra.mint({ aud: 'client-id-guid' })}`))).toBe('ok');
    expect(
      await codeOf(auth.authenticate(`Bearer ${await entra.mint({ iss: `https://sts.chinacloudapi.cn/${TENANT}/` })}`)),
    ).toBe('ok');
    expect(
      await codeOf(auth.authenticate(`Bearer ${await entra.mint({ iss: `https://sts.windows.net/${TENANT}/` })}`)),
    ).toBe('invalid_token');
    const gov = authenticator(undefined, 'AzureUSGovernment');
    expect(
      await codeOf(
        gov.authenticate(`Bearer ${await entra.mint({ iss: `https://login.microsoftonline.us/${TENANT}/` })}`),
      ),
    ).toBe('ok');
  });

  it('remembers a verified token only until its own expiry', async () => {
    const clock = { now: Date.now() };
    const auth = new CallerAuthenticator({
      tenantId: TENANT,
      audiences: ['api://token-vending'],
      authorityHost: entra.authorityHost,
      cloud: 'AzureCloud',
      now: () => clock.now,
    });
    const token = `Bearer ${await entra.mint({ exp: Math.floor(clock.now / 1000) + 120 })}`;
    expect(await codeOf(auth.authenticate(token))).toBe('ok');
    clock.now += 150_000; // past exp, within the 60 s skew
    expect(await codeOf(auth.authenticate(token))).toBe('ok');
    clock.now += 60_000; // past exp + skew
    expect(await codeOf(auth.authenticate(token))).toBe('invalid_token');
    expect(entra.requests.jwks).toBe(1);
  });

  it('picks up a newly published signing key without a restart (key rollover)', async () => {
    const auth = authenticator(0);
    expect(await codeOf(auth.authenticate(`Bearer ${await entra.mint()}`))).toBe('ok');
    await entra.rotateSigningKey({ keepOld: false });
    expect(await codeOf(auth.authenticate(`Bearer ${await entra.mint()}`))).toBe('ok');
    expect(entra.requests.jwks).toBe(2);
  });

  it('a flood of unknown kids costs at most one key-set refetch per cooldown', async () => {
    const auth = authenticator();
    expect(await codeOf(auth.authenticate(`Bearer ${await entra.mint()}`))).toBe('ok');
    const forged = await Promise.all(Array.from({ length: 100 }, () => entra.mintWithUnpublishedKey()));
    const codes = await Promise.all(forged.map((token) => codeOf(auth.authenticate(`Bearer ${token}`))));
    expect(new Set(codes)).toEqual(new Set(['invalid_token']));
    expect(entra.requests.jwks).toBeLessThanOrEqual(2);
    expect(entra.requests.discovery).toBe(1);
  });

  it('a wrong tenant in AUTH_TENANT_ID is identity_provider_unavailable, and not retried at once', async () => {
    const auth = new CallerAuthenticator({
      tenantId: '00000000-0000-0000-0000-000000000009',
      audiences: ['a'],
      authorityHost: entra.authorityHost,
      cloud: 'AzureCloud',
    });
    const token = `Bearer ${await entra.mint()}`;
    expect(await codeOf(auth.authenticate(token))).toBe('identity_provider_unavailable');
    expect(await codeOf(auth.authenticate(token))).toBe('identity_provider_unavailable');
    expect(entra.requests.discovery).toBe(1);
  });
});
