import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTVerifyOptions } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEntra, type FakeEntra } from '../../devstack/fakes/entra.js';

const TENANT = '6e2b0c5a-9d1f-4c3e-8a7b-2f4d6e8a0b1c';
const clock = { now: Date.UTC(2030, 0, 1, 12) };
let entra: FakeEntra;

beforeAll(async () => {
  entra = await startFakeEntra({ tenantId: TENANT, now: () => clock.now });
});
afterAll(async () => {
  await entra.close();
});

interface Discovery {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  authorization_endpoint: string;
  id_token_signing_alg_values_supported: string[];
}

async function discover(path: string): Promise<Discovery> {
  const response = await fetch(`${entra.authorityHost}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Discovery;
}

/** What a resource server does: discovery, then the JWKS it names, then RS256 only. */
async function verify(token: string, options: Partial<JWTVerifyOptions> = {}) {
  const { issuer, jwks_uri } = await discover(`/${TENANT}/v2.0/.well-known/openid-configuration`);
  const keys = createRemoteJWKSet(new URL(jwks_uri));
  return jwtVerify(token, keys, {
    issuer,
    audience: 'api://token-vending',
    algorithms: ['RS256'],
    currentDate: new Date(clock.now),
    ...options,
  });
}

describe('fake Entra: discovery and JWKS', () => {
  it('serves the v2.0 document for its tenant, naming its issuer and key set', async () => {
    const doc = await discover(`/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(entra.authorityHost).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(doc).toMatchObject({
      issuer: `${entra.authorityHost}/${TENANT}/v2.0`,
      jwks_uri: `${entra.authorityHost}/${TENANT}/discovery/v2.0/keys`,
      token_endpoint: `${entra.authorityHost}/${TENANT}/oauth2/v2.0/token`,
      authorization_endpoint: `${entra.authorityHost}/${TENANT}/oauth2/v2.0/authorize`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(doc.issuer).toBe(entra.issuerV2);
  });

  it('serves the v1.0 document with the sts.windows.net issuer and the same keys', async () => {
    const doc = await discover(`/${TENANT}/.well-known/openid-configuration`);
    expect(doc.issuer).toBe(`https://sts.windows.net/${TENANT}/`);
    expect(doc.issuer).toBe(entra.issuerV1);
    expect(doc.jwks_uri).toBe(`${entra.authorityHost}/${TENANT}/discovery/keys`);
    const v1 = (await (await fetch(doc.jwks_uri)).json()) as { keys: { kid: string }[] };
    const v2 = (await (await fetch(`${entra.authorityHost}/${TENANT}/discovery/v2.0/keys`)).json()) as {
      keys: { kid: string }[];
    };
    expect(v1.keys.map((k) => k.kid)).toEqual(v2.keys.map((k) => k.kid));
  });

  it('publishes RSA signing keys as Entra does: kid, x5t, n, e, and no alg', async () => {
    const { keys } = (await (await fetch(`${entra.authorityHost}/${TENANT}/discovery/v2.0/keys`)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      kty: 'RSA',
      use: 'sig',
      kid: expect.any(String),
      x5t: expect.any(String),
      n: expect.any(String),
      e: 'AQAB',
    });
    expect(keys[0]).not.toHaveProperty('alg');
  });

  it('answers an unknown tenant with 400 invalid_tenant (AADSTS90002)', async () => {
    const response = await fetch(
      `${entra.authorityHost}/00000000-0000-0000-0000-00000000dead/v2.0/.well-known/openid-configuration`,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_tenant',
      error_codes: [90002],
      error_description: expect.stringContaining('AADSTS90002'),
    });
  });

  it('gives common a templated issuer that matches no token', async () => {
    const doc = await discover('/common/v2.0/.well-known/openid-configuration');
    expect(doc.issuer).toBe(`${entra.authorityHost}/{tenantid}/v2.0`);
  });
});

describe('fake Entra: minted tokens', () => {
  it('verifies with jose against the discovered JWKS; defaults as Entra v2.0 access tokens', async () => {
    const token = await entra.mint({ roles: ['Speech.Token'] });
    const { payload, protectedHeader } = await verify(token);
    const seconds = clock.now / 1000;
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(payload).toMatchObject({
      iss: entra.issuerV2,
      aud: 'api://token-vending',
      tid: TENANT,
      ver: '2.0',
      azp: expect.any(String),
      oid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sub: expect.any(String),
      roles: ['Speech.Token'],
      iat: seconds,
      nbf: seconds,
      exp: seconds + 3600,
    });
  });

  it('lets claims override defaults and removes a claim set to undefined', async () => {
    const { payload } = await verify(await entra.mint({ aud: 'api://other', oid: 'o-1', azp: undefined }), {
      audience: 'api://other',
    });
    expect(payload.oid).toBe('o-1');
    expect(payload).not.toHaveProperty('azp');
  });

  it('follows the injected clock: a token minted an hour and a minute ago is expired', async () => {
    const token = await entra.mint();
    await expect(verify(token, { currentDate: new Date(clock.now + 3_660_000) })).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
  });

  it.each([
    ['alg none', () => entra.mintUnsigned(), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['HS256 keyed with the public key', () => entra.mintHs256WithPublicKey(), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['an unpublished key', () => entra.mintWithUnpublishedKey(), 'ERR_JWKS_NO_MATCHING_KEY'],
    [
      'an unpublished key claiming a published kid',
      async () => {
        const kid = decodeProtectedHeader(await entra.mint()).kid;
        return entra.mint({}, { signingKey: 'unpublished', ...(kid ? { kid } : {}) });
      },
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ],
    [
      'a tampered payload',
      async () => entra.tamper(await entra.mint({ roles: [] }), { roles: ['Speech.Token'] }),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ],
  ])('forgery (%s) is refused by a verifier that pins RS256 and the JWKS', async (_name, forge, code) => {
    await expect(verify(await forge())).rejects.toMatchObject({ code });
  });

  it('the forgeries have the shapes their names promise', async () => {
    expect(decodeProtectedHeader(await entra.mintUnsigned())).toMatchObject({ alg: 'none' });
    expect((await entra.mintUnsigned()).endsWith('.')).toBe(true);
    expect(decodeProtectedHeader(await entra.mintHs256WithPublicKey()).alg).toBe('HS256');
    const published = decodeProtectedHeader(await entra.mint()).kid;
    expect(decodeProtectedHeader(await entra.mintWithUnpublishedKey()).kid).not.toBe(published);
  });

  it('rolls keys over: new tokens use a new kid, old tokens verify while the old key stays published', async () => {
    const before = await entra.mint();
    await entra.rotateSigningKey();
    const after = await entra.mint();
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    await expect(verify(after)).resolves.toBeDefined();
    await expect(verify(before)).resolves.toBeDefined();

    await entra.rotateSigningKey({ keepOld: false });
    await expect(verify(before)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(verify(await entra.mint())).resolves.toBeDefined();
  });

  it('counts discovery and JWKS requests', async () => {
    entra.resetCounters();
    await verify(await entra.mint());
    expect(entra.requests).toEqual({ discovery: 1, jwks: 1 });
    entra.resetCounters();
    expect(entra.requests).toEqual({ discovery: 0, jwks: 0 });
  });
});

describe('fake Entra: failing on demand', () => {
  const jwksUrl = () => `${entra.authorityHost}/${TENANT}/discovery/v2.0/keys`;
  const discoveryUrl = () => `${entra.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`;

  it('answers the key set with the status it is told, counting each request, until it recovers', async () => {
    entra.resetCounters();
    entra.failEndpoint('jwks', { status: 500 });
    expect((await fetch(jwksUrl())).status).toBe(500);
    entra.failEndpoint('jwks', { status: 429 });
    const throttled = await fetch(jwksUrl());
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('30');
    entra.failEndpoint('jwks', { status: 503, retryAfter: '3600' });
    expect((await fetch(jwksUrl())).headers.get('retry-after')).toBe('3600');
    expect((await fetch(discoveryUrl())).status).toBe(200);
    entra.recoverEndpoint('jwks');
    expect((await fetch(jwksUrl())).status).toBe(200);
    expect(entra.requests).toEqual({ discovery: 1, jwks: 4 });
  });

  it('drops the connection when told to reset, for discovery or the key set', async () => {
    entra.resetCounters();
    entra.failEndpoint('discovery', 'reset');
    await expect(fetch(discoveryUrl())).rejects.toThrow('fetch failed');
    expect((await fetch(jwksUrl())).status).toBe(200);
    entra.recoverEndpoint('discovery');
    expect((await fetch(discoveryUrl())).status).toBe(200);
    expect(entra.requests).toEqual({ discovery: 2, jwks: 1 });
  });
});

describe('fake Entra: close', () => {
  it('really closes, kept-alive connections included', async () => {
    const other = await startFakeEntra({ tenantId: TENANT });
    await fetch(`${other.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`).then((r) => r.text());
    await other.close();
    await expect(fetch(`${other.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`)).rejects.toThrow(
      'fetch failed',
    );
  });
});
