import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createSelfSignedCertificate } from './tls.js';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { closeServer, listenOnLoopback } from './server.js';

export interface FakeEntraOptions {
  readonly tenantId: string;
  /** Clock for `iat`/`nbf`/`exp` of minted tokens, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Delay before every answer, in ms, as a distant service would have. Default 0. */
  readonly latencyMs?: number;
  /**
   * Serve https with a self-signed certificate (`tls.ts`) instead of http: a client that is not
   * given it refuses the connection, as behind a TLS-inspecting proxy. Default false.
   */
  readonly tls?: boolean;
}

export interface MintOptions {
  /** Header `kid` to claim; default the signing key's own. */
  readonly kid?: string;
  /** `unpublished`: signed by a key that is never in the JWKS. Default `current`. */
  readonly signingKey?: 'current' | 'unpublished';
}

/**
 * How an endpoint of the fake fails: an HTTP status, with `retryAfter` as the `Retry-After` header
 * word for word (default: `30` on a 429, none otherwise), or a dropped connection.
 */
export type EntraFailure = { readonly status: number; readonly retryAfter?: string } | 'reset';

/** The endpoints a resource server calls. */
export type EntraEndpoint = 'discovery' | 'jwks';

export interface FakeEntra {
  /** `http://127.0.0.1:PORT`, no trailing slash: what AUTH_AUTHORITY_HOST points at. */
  readonly authorityHost: string;
  readonly tenantId: string;
  /** `{authorityHost}/{tenantId}/v2.0`, as in the v2.0 discovery document. */
  readonly issuerV2: string;
  /** `https://sts.windows.net/{tenantId}/`: v1.0 tokens name this issuer whatever the host. */
  readonly issuerV1: string;
  readonly requests: { discovery: number; jwks: number };
  /** An RS256 token from the current published key; `undefined` claims are removed. */
  mint(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** `alg: none` and an empty signature. */
  mintUnsigned(claims?: Record<string, unknown>): Promise<string>;
  /** HS256 keyed with the current public key's PEM: the key-confusion attack. */
  mintHs256WithPublicKey(claims?: Record<string, unknown>): Promise<string>;
  /** A valid RS256 signature from a key the tenant never published, under an unpublished kid. */
  mintWithUnpublishedKey(claims?: Record<string, unknown>): Promise<string>;
  /**
   * A Microsoft Graph access token as Entra issues one to an app that asked for Graph's scopes
   * (what an MSAL single-page app sends most often by mistake): v1.0, `aud` Graph, Graph's scopes,
   * and a header `nonce` whose SHA-256 is what was signed, so its signature verifies for Graph
   * alone, never with the published key as it stands. `claims` override.
   */
  mintGraphToken(claims?: Record<string, unknown>): Promise<string>;
  /** The same header and signature over a changed payload. */
  tamper(token: string, claims: Record<string, unknown>): string;
  /** Publishes a new key that `mint` uses from then on; the old one stays published unless `keepOld: false`. */
  rotateSigningKey(options?: { keepOld?: boolean }): Promise<void>;
  /**
   * From now on every request to `endpoint` fails as `failure` says (still counted in `requests`),
   * until `recoverEndpoint`: Entra having a bad moment.
   */
  failEndpoint(endpoint: EntraEndpoint, failure: EntraFailure): void;
  /** Serves `endpoint` normally again. */
  recoverEndpoint(endpoint: EntraEndpoint): void;
  resetCounters(): void;
  close(): Promise<void>;
}

/** The client id `azp` names unless a test says otherwise. */
export const FAKE_CLIENT_APP_ID = '3c1a2b4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly publicPem: string;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // Shaped like Entra's kid, which is its certificate's SHA-1 thumbprint in base64url and equal to
  // x5t; with no certificate here, the public JWK stands in for it.
  const kid = createHash('sha1').update(JSON.stringify(publicJwk)).digest('base64url');
  return { kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Entra answers these tenant names with a document whose issuer is a template, not a tenant. */
const MULTI_TENANT = new Set(['common', 'organizations']);

/**
 * Microsoft Entra ID as a resource server sees it: OIDC discovery (v2.0 and v1.0) and the JWKS,
 * over plain http on loopback (issuers therefore say http://127.0.0.1:PORT where Entra says
 * https://login.microsoftonline.com).
 */
export async function startFakeEntra(options: FakeEntraOptions): Promise<FakeEntra> {
  const { tenantId } = options;
  const now = options.now ?? Date.now;
  let current = await newSigningKey();
  let published: SigningKey[] = [current];
  const unpublished = await newSigningKey();
  const requests = { discovery: 0, jwks: 0 };
  const failures = new Map<EntraEndpoint, EntraFailure>();

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Access-Control-Allow-Origin': '*',
      ...headers,
    });
    res.end(JSON.stringify(body));
  };

  const aadError = (res: ServerResponse, status: number, error: string, code: number, description: string) => {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date(now())
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d{3}Z$/, 'Z');
    json(res, status, {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${authorityHost}/error?code=${code}`,
    });
  };

  const discoveryDocument = (tenant: string, v2: boolean) => {
    const base = `${authorityHost}/${tenant}`;
    const issuerTenant = MULTI_TENANT.has(tenant) ? '{tenantid}' : tenant;
    const v = v2 ? 'v2.0/' : '';
    return {
      token_endpoint: `${base}/oauth2/${v}token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/${v}keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: v2 ? ['openid', 'profile', 'email', 'offline_access'] : ['openid'],
      issuer: v2 ? `${authorityHost}/${issuerTenant}/v2.0` : `https://sts.windows.net/${issuerTenant}/`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${base}/oauth2/${v}authorize`,
      device_authorization_endpoint: `${base}/oauth2/${v}devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/${v}logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: MULTI_TENANT.has(tenant) ? null : 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const [, tenant = '', ...rest] = path.split('/');
    const tail = rest.join('/');
    const isV2Discovery = tail === 'v2.0/.well-known/openid-configuration';
    const isV1Discovery = tail === '.well-known/openid-configuration';
    const isJwks = tail === 'discovery/v2.0/keys' || tail === 'discovery/keys';
    if (isV2Discovery || isV1Discovery) requests.discovery++;
    if (isJwks) requests.jwks++;
    if (!isV2Discovery && !isV1Discovery && !isJwks) {
      json(res, 404, { error: 'not_found', error_description: `The fake Entra serves no ${req.method} ${path}.` });
      return;
    }
    const failure = failures.get(isJwks ? 'jwks' : 'discovery');
    if (failure === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failure !== undefined) {
      json(
        res,
        failure.status,
        { error: 'temporarily_unavailable', error_description: 'The fake Entra was told to fail.' },
        failure.retryAfter !== undefined
          ? { 'Retry-After': failure.retryAfter }
          : failure.status === 429
            ? { 'Retry-After': '30' }
            : {},
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'invalid_request', error_description: 'Only GET is supported here.' });
      return;
    }
    if (tenant !== tenantId && !MULTI_TENANT.has(tenant)) {
      aadError(
        res,
        400,
        'invalid_tenant',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      );
      return;
    }
    if (isJwks) {
      const v2 = tail.includes('v2.0');
      // Entra publishes kty/use/kid/x5t/n/e (and x5c, omitted here: nobody should verify by it), never alg.
      json(
        res,
        200,
        {
          keys: published.map((key) => ({
            kty: 'RSA',
            use: 'sig',
            kid: key.kid,
            x5t: key.kid,
            n: key.publicJwk.n,
            e: key.publicJwk.e,
            ...(v2 ? { issuer: `${authorityHost}/${MULTI_TENANT.has(tenant) ? '{tenantid}' : tenant}/v2.0` } : {}),
          })),
        },
        { 'Cache-Control': 'max-age=86400, private' },
      );
      return;
    }
    json(res, 200, discoveryDocument(tenant, isV2Discovery), { 'Cache-Control': 'max-age=86400, private' });
  };
  // With `tls`, a certificate no client trusts unless given it: a TLS-inspecting proxy's, as the app sees it.
  const server = options.tls === true ? createTlsServer(createSelfSignedCertificate(), handle) : createServer(handle);
  const port = await listenOnLoopback(server, options.latencyMs);
  const authorityHost = `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`;

  const claimsFor = (claims: Record<string, unknown>): Record<string, unknown> => {
    const seconds = Math.floor(now() / 1000);
    const merged: Record<string, unknown> = {
      iss: `${authorityHost}/${tenantId}/v2.0`,
      aud: 'api://token-vending',
      tid: tenantId,
      oid: randomUUID(),
      sub: randomUUID(),
      iat: seconds,
      nbf: seconds,
      exp: seconds + 3600,
      ver: '2.0',
      azp: FAKE_CLIENT_APP_ID,
      azpacr: '0',
      ...claims,
    };
    return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  };

  const sign = (key: SigningKey, claims: Record<string, unknown>, kid = key.kid) =>
    new SignJWT(claimsFor(claims)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);

  return {
    authorityHost,
    tenantId,
    issuerV2: `${authorityHost}/${tenantId}/v2.0`,
    issuerV1: `https://sts.windows.net/${tenantId}/`,
    requests,
    mint: (claims = {}, mintOptions = {}) =>
      sign(mintOptions.signingKey === 'unpublished' ? unpublished : current, claims, mintOptions.kid),
    mintWithUnpublishedKey: (claims = {}) => sign(unpublished, claims),
    mintUnsigned: (claims = {}) =>
      Promise.resolve(`${encode({ alg: 'none', typ: 'JWT' })}.${encode(claimsFor(claims))}.`),
    mintHs256WithPublicKey(claims = {}) {
      // A verifier that lets the token pick its algorithm would check this HMAC with the public
      // key's bytes as the secret, and anyone can compute it.
      return new SignJWT(claimsFor(claims))
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: current.kid })
        .sign(new TextEncoder().encode(current.publicPem));
    },
    async mintGraphToken(claims = {}) {
      const nonce = randomBytes(32).toString('base64url');
      const graphClaims = {
        aud: 'https://graph.microsoft.com',
        iss: `https://sts.windows.net/${tenantId}/`,
        ver: '1.0',
        scp: 'openid profile User.Read email',
        appid: FAKE_CLIENT_APP_ID,
        azp: undefined,
        ...claims,
      };
      const signed = await new SignJWT(claimsFor(graphClaims))
        .setProtectedHeader({
          alg: 'RS256',
          typ: 'JWT',
          kid: current.kid,
          nonce: createHash('sha256').update(nonce).digest('base64url'),
        })
        .sign(current.privateKey);
      const [header, payload, signature] = signed.split('.');
      const original = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      return `${encode({ ...original, nonce })}.${payload ?? ''}.${signature ?? ''}`;
    },
    tamper(token, claims) {
      const [header, payload, signature, ...extra] = token.split('.');
      if (header === undefined || payload === undefined || signature === undefined || extra.length > 0) {
        throw new Error('tamper() takes a compact JWS: header.payload.signature');
      }
      const original = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      return `${header}.${encode({ ...original, ...claims })}.${signature}`;
    },
    async rotateSigningKey({ keepOld = true } = {}) {
      current = await newSigningKey();
      published = keepOld ? [...published, current] : [current];
    },
    failEndpoint(endpoint, failure) {
      failures.set(endpoint, failure);
    },
    recoverEndpoint(endpoint) {
      failures.delete(endpoint);
    },
    resetCounters() {
      requests.discovery = 0;
      requests.jwks = 0;
    },
    close: () => closeServer(server),
  };
}
