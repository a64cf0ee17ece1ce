import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { closeServer, listenOnLoopback } from './server.js';

export interface FakeEntraOptions {
  readonly tenantId: string;
  readonly now?: () => number;
}

export interface MintOptions {
  readonly kid?: string;
  readonly signingKey?: 'current' | 'unpublished';
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly publicPem: string;
}

export interface FakeEntra {
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly issuerV2: string;
  readonly issuerV1: string;
  readonly requests: { discovery: number; jwks: number };
  mint(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
  mintUnsigned(claims?: Record<string, unknown>): Promise<string>;
  mintHs256WithPublicKey(claims?: Record<string, unknown>): Promise<string>;
  mintWithUnpublishedKey(claims?: Record<string, unknown>): Promise<string>;
  tamper(token: string, claims: Record<string, unknown>): string;
  rotateSigningKey(options?: { keepOld?: boolean }): Promise<void>;
  resetCounters(): void;
  close(): Promise<void>;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = createHash('sha256').update(JSON.stringify(publicJwk)).digest('base64url').slice(0, 27);
  return { kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Microsoft Entra ID as a resource server sees it: OIDC discovery (v2.0 and v1.0) and the JWKS. */
export async function startFakeEntra(options: FakeEntraOptions): Promise<FakeEntra> {
  const { tenantId } = options;
  const now = options.now ?? Date.now;
  let published: SigningKey[] = [await newSigningKey()];
  let current = published[0]!;
  const unpublished = await newSigningKey();
  const requests = { discovery: 0, jwks: 0 };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const [, tenant, ...rest] = path.split('/');
    const tail = rest.join('/');
    const isDiscovery = tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration';
    if (isDiscovery) requests.discovery++;
    if (tenant !== tenantId) {
      json(400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant}' not found.` });
      return;
    }
    if (isDiscovery) {
      const v2 = tail.startsWith('v2.0');
      json(200, {
        issuer: v2 ? fake.issuerV2 : fake.issuerV1,
        jwks_uri: `${fake.authorityHost}/${tenantId}/discovery/${v2 ? 'v2.0/' : ''}keys`,
        authorization_endpoint: `${fake.authorityHost}/${tenantId}/oauth2/${v2 ? 'v2.0/' : ''}authorize`,
        token_endpoint: `${fake.authorityHost}/${tenantId}/oauth2/${v2 ? 'v2.0/' : ''}token`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        tenant_region_scope: 'EU',
      });
      return;
    }
    if (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys') {
      requests.jwks++;
      // Entra publishes kty/use/kid/x5t/n/e and no alg.
      json(200, { keys: published.map((key) => ({ kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: key.publicJwk.n, e: key.publicJwk.e })) });
      return;
    }
    json(404, { error: 'not_found' });
  });
  const port = await listenOnLoopback(server);

  const claimsFor = (claims: Record<string, unknown>): Record<string, unknown> => {
    const seconds = Math.floor(now() / 1000);
    const merged: Record<string, unknown> = {
      iss: fake.issuerV2, aud: 'api://token-vending', tid: tenantId, oid: randomUUID(), sub: randomUUID(),
      iat: seconds, nbf: seconds, exp: seconds + 3600, ver: '2.0', azp: 'client-app-id', ...claims,
    };
    for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
    return merged;
  };

  const sign = (key: SigningKey, claims: Record<string, unknown>, kid = key.kid) =>
    new SignJWT(claimsFor(claims)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);

  const fake: FakeEntra = {
    authorityHost: `http://127.0.0.1:${port}`,
    tenantId,
    issuerV2: `http://127.0.0.1:${port}/${tenantId}/v2.0`,
    issuerV1: `https://sts.windows.net/${tenantId}/`,
    requests,
    mint: (claims = {}, mintOptions = {}) =>
      sign(mintOptions.signingKey === 'unpublished' ? unpublished : current, claims, mintOptions.kid),
    mintWithUnpublishedKey: (claims = {}) => sign(unpublished, claims),
    async mintUnsigned(claims = {}) {
      return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claimsFor(claims))}.`;
    },
    mintHs256WithPublicKey(claims = {}) {
      // The key-confusion attack: an HMAC keyed with bytes the attacker knows, the public key.
      return new SignJWT(claimsFor(claims))
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: current.kid })
        .sign(new TextEncoder().encode(current.publicPem));
    },
    tamper(token, claims) {
      const [header, payload, signature] = token.split('.');
      const original = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      return `${header}.${encode({ ...original, ...claims })}.${signature}`;
    },
    async rotateSigningKey({ keepOld = true } = {}) {
      current = await newSigningKey();
      published = keepOld ? [...published, current] : [current];
    },
    resetCounters() {
      requests.discovery = 0;
      requests.jwks = 0;
    },
    close: () => closeServer(server),
  };
  return fake;
}
