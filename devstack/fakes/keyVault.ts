import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { acceptedConnections, closeServer, listenOnLoopback } from './server.js';
import { createSelfSignedCertificate } from './tls.js';

export interface FakeKeyVaultOptions {
  /** Clock for the secrets' `created`/`updated` attributes, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Tenant named in the authentication challenge. */
  readonly tenantId?: string;
  /** Delay before every answer, in ms, as a distant service would have. Default 0. */
  readonly latencyMs?: number;
}

export interface FakeKeyVault {
  /** `https://127.0.0.1:PORT`. */
  readonly vaultUrl: string;
  /** The vault's self-signed certificate: `tlsOptions: { ca }` or NODE_EXTRA_CA_CERTS. */
  readonly certificatePem: string;
  /** `forbidden` answers every authenticated read with 403 ForbiddenByRbac. Default `allow`. */
  accessMode: 'allow' | 'forbidden';
  /** Accept requests and never answer them: for client timeouts. `close()` still ends them. */
  hang: boolean;
  /** Authenticated secret GETs (the unauthenticated challenge round trip is not counted). */
  readonly requests: { get: number; byName: Record<string, number> };
  /** TLS connections accepted: fewer than requests when the client keeps them alive. */
  connections(): number;
  /** Adds a new version, which becomes the latest. Returns the version id. */
  /** Adds a version (with `tags`, e.g. `{ keyName: 'key2' }`); returns its id. */
  setSecret(name: string, value: string, tags?: Readonly<Record<string, string>>): string;
  /** Disables the latest version (a read by name then answers 403 SecretDisabled). */
  disableSecret(name: string): void;
  deleteSecret(name: string): void;
  /**
   * The next `count` authenticated reads answer `status`. 429 carries `Retry-After` (default 1 s,
   * the SDK waits that long before its retry); others only if `retryAfterSeconds` is given.
   */
  failNext(count: number, status: number, options?: { retryAfterSeconds?: number }): void;
  resetCounters(): void;
  close(): Promise<void>;
}

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly created: number;
  readonly tags: Readonly<Record<string, string>>;
  enabled: boolean;
}

const FAILURE_BODIES: Record<number, { code: string; message: string }> = {
  429: {
    code: 'Throttled',
    message:
      'Request was not processed because too many requests were received. Reason: A generic throttling policy was exceeded. Retry after some time.',
  },
  500: { code: 'InternalServerError', message: 'An unexpected error occurred.' },
  502: { code: 'BadGateway', message: 'The server received an invalid response from an upstream server.' },
  503: {
    code: 'ServiceUnavailable',
    message: 'The service is currently unavailable. Retry the request after some time.',
  },
};

/**
 * Azure Key Vault's secrets REST API over TLS, enough for the real SecretClient: challenge-based
 * authentication, versions, and the service's error bodies.
 *
 * What a SecretClient needs to talk to it:
 * - `tlsOptions: { ca: vault.certificatePem }` (or NODE_EXTRA_CA_CERTS naming a file from
 *   `writeCertificateFile`, set before the process starts): the certificate is self-signed.
 * - `disableChallengeResourceVerification: true`. The challenge names
 *   `resource="https://vault.azure.net"` as the real service does, and @azure/keyvault-common 2.x
 *   refuses a challenge unless the vault's hostname ends with `.` + the resource's hostname, which
 *   no loopback address can. The check exists so that a vault URL pointing somewhere else cannot
 *   obtain a Key Vault token; turning it off is only acceptable for a loopback vault, never for a
 *   configured production URL (src/secrets sets it for loopback hosts only).
 * - a credential: `fakeKeyVaultCredential` (any non-empty bearer token is accepted).
 * - small `retryOptions` in tests that script failures: the SDK retries 5xx/429 three times with
 *   exponential backoff from 800 ms by default.
 */
export async function startFakeKeyVault(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
  const now = options.now ?? Date.now;
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-000000000000';
  const secrets = new Map<string, SecretVersion[]>();
  const requests: { get: number; byName: Record<string, number> } = { get: 0, byName: {} };
  let failures = { count: 0, status: 500, retryAfterSeconds: undefined as number | undefined };
  const { cert, key } = createSelfSignedCertificate();

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-cache',
      'x-ms-keyvault-service-version': '1.9.2471.1',
      'x-ms-keyvault-region': 'westeurope',
      'x-ms-request-id': randomBytes(16)
        .toString('hex')
        .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const error = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => json(res, status, { error: { code, message, ...extra } }, headers);

  const server = createServer({ cert, key }, (req, res) => {
    req.resume();
    if (fake.hang) return;
    const authorization = req.headers.authorization ?? '';
    if (!/^Bearer \S+/.test(authorization)) {
      error(
        res,
        401,
        'Unauthorized',
        'AKV10000: Request is missing a Bearer or PoP token.',
        {},
        {
          'WWW-Authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
        },
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'https://vault');
    const match = /^\/secrets\/([^/]+)\/?([^/]*)$/.exec(url.pathname);
    if (match === null) {
      error(res, 404, 'NotFound', `The fake vault serves no ${req.method} ${url.pathname}.`);
      return;
    }
    if (req.method !== 'GET') {
      error(
        res,
        405,
        'BadParameter',
        `The fake vault does not implement ${req.method} on secrets; use setSecret() on the fake.`,
      );
      return;
    }
    if (!url.searchParams.get('api-version')) {
      error(res, 400, 'BadParameter', 'The api-version query parameter is missing.');
      return;
    }
    const [, name = '', version = ''] = match;
    if (!/^[0-9A-Za-z-]{1,127}$/.test(name)) {
      error(res, 400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
      return;
    }
    requests.get++;
    requests.byName[name] = (requests.byName[name] ?? 0) + 1;
    if (failures.count > 0) {
      failures.count--;
      const body = FAILURE_BODIES[failures.status] ?? { code: 'InternalServerError', message: 'Scripted failure.' };
      const retryAfter = failures.retryAfterSeconds ?? (failures.status === 429 ? 1 : undefined);
      error(
        res,
        failures.status,
        body.code,
        body.message,
        {},
        retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) },
      );
      return;
    }
    if (fake.accessMode === 'forbidden') {
      error(
        res,
        403,
        'Forbidden',
        [
          'Caller is not authorized to perform action on resource.',
          'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
          `Caller: appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002;iss=https://sts.windows.net/${tenantId}/`,
          "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'",
          `Resource: '/subscriptions/00000000-0000-0000-0000-000000000003/resourcegroups/rg-fake/providers/microsoft.keyvault/vaults/kv-fake/secrets/${name.toLowerCase()}'`,
          'Assignment: (not found)',
          'DenyAssignmentId: null',
          'DecisionReason: null',
          'Vault: kv-fake;location=westeurope',
          '',
        ].join('\r\n'),
        { innererror: { code: 'ForbiddenByRbac' } },
      );
      return;
    }
    const versions = secrets.get(name);
    const chosen =
      versions === undefined ? undefined : version ? versions.find((v) => v.version === version) : versions.at(-1);
    if (chosen === undefined) {
      error(
        res,
        404,
        'SecretNotFound',
        `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
      );
      return;
    }
    if (!chosen.enabled) {
      error(res, 403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', {
        innererror: { code: 'SecretDisabled' },
      });
      return;
    }
    const seconds = Math.floor(chosen.created / 1000);
    json(res, 200, {
      value: chosen.value,
      id: `${fake.vaultUrl}/secrets/${name}/${chosen.version}`,
      attributes: {
        enabled: true,
        created: seconds,
        updated: seconds,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
      tags: chosen.tags,
    });
  });
  const port = await listenOnLoopback(server, options.latencyMs);

  const fake: FakeKeyVault = {
    vaultUrl: `https://127.0.0.1:${port}`,
    certificatePem: cert,
    accessMode: 'allow',
    hang: false,
    requests,
    connections: () => acceptedConnections(server),
    setSecret(name, value, tags = {}) {
      const versions = secrets.get(name) ?? [];
      const version = randomBytes(16).toString('hex');
      versions.push({ version, value, created: now(), tags, enabled: true });
      secrets.set(name, versions);
      return version;
    },
    disableSecret(name) {
      const latest = secrets.get(name)?.at(-1);
      if (latest) latest.enabled = false;
    },
    deleteSecret(name) {
      secrets.delete(name);
    },
    failNext(count, status, failOptions = {}) {
      failures = { count, status, retryAfterSeconds: failOptions.retryAfterSeconds };
    },
    resetCounters() {
      requests.get = 0;
      requests.byName = {};
    },
    close: () => closeServer(server),
  };
  return fake;
}

/** A TokenCredential that records what it was asked for; the fake vault accepts its token. */
export interface RecordingCredential extends TokenCredential {
  readonly requests: { scopes: string[]; tenantId?: string }[];
}

export function createFakeKeyVaultCredential(token = 'fake-key-vault-access-token'): RecordingCredential {
  const requests: { scopes: string[]; tenantId?: string }[] = [];
  return {
    requests,
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
      requests.push({
        scopes: typeof scopes === 'string' ? [scopes] : [...scopes],
        ...(options?.tenantId ? { tenantId: options.tenantId } : {}),
      });
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000, tokenType: 'Bearer' });
    },
  };
}

/** Any bearer token satisfies the fake vault; this one is valid for an hour from each request. */
export const fakeKeyVaultCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'fake-key-vault-access-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
