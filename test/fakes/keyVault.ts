import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import { closeServer, listenOnLoopback } from './server.js';
import { createSelfSignedCertificate } from './tls.js';

export interface FakeKeyVaultOptions {
  readonly now?: () => number;
  readonly tenantId?: string;
}

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly created: number;
  enabled: boolean;
}

export interface FakeKeyVault {
  readonly vaultUrl: string;
  /** The vault's self-signed certificate: `tlsOptions: { ca }` or NODE_EXTRA_CA_CERTS. */
  readonly certificatePem: string;
  /** `forbidden` answers every authenticated read with 403 ForbiddenByRbac. */
  accessMode: 'allow' | 'forbidden';
  /** Accept connections and never answer: for client timeouts. */
  hang: boolean;
  readonly requests: { get: number; byName: Record<string, number> };
  setSecret(name: string, value: string): void;
  disableSecret(name: string): void;
  deleteSecret(name: string): void;
  /** The next `count` authenticated reads answer `status` (429 carries Retry-After: 1). */
  failNext(count: number, status: number): void;
  resetCounters(): void;
  close(): Promise<void>;
}

/**
 * Azure Key Vault's secrets REST API over TLS, enough for the real SecretClient: the
 * challenge-based authentication handshake, versions, and the service's error bodies.
 * A 127.0.0.1 vault needs `disableChallengeResourceVerification` in the client, because the
 * challenge names vault.azure.net (the service sets it for loopback vaults only).
 */
export async function startFakeKeyVault(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
  const now = options.now ?? Date.now;
  const tenantId = options.tenantId ?? '00000000-0000-0000-0000-000000000000';
  const secrets = new Map<string, SecretVersion[]>();
  const requests = { get: 0, byName: {} as Record<string, number> };
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  const { cert, key } = createSelfSignedCertificate();

  const server = createServer({ cert, key }, (req, res) => {
    if (fake.hang) return;
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'x-ms-keyvault-service-version': '1.9.0', ...headers });
      res.end(JSON.stringify(body));
    };
    const authorization = req.headers.authorization;
    if (!authorization?.startsWith('Bearer ') || authorization.length <= 'Bearer '.length) {
      json(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        'WWW-Authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
      });
      return;
    }
    const url = new URL(req.url ?? '/', fake.vaultUrl);
    const match = /^\/secrets\/([0-9A-Za-z-]+)\/?([0-9a-f]*)$/.exec(url.pathname);
    if (req.method !== 'GET' || match === null) {
      json(400, { error: { code: 'BadParameter', message: 'The request URI contains an invalid name or is not supported by this fake.' } });
      return;
    }
    const [, name = '', version = ''] = match;
    requests.get++;
    requests.byName[name] = (requests.byName[name] ?? 0) + 1;
    if (failures.count > 0) {
      failures.count--;
      json(failures.status, { error: { code: failures.status === 429 ? 'Throttled' : 'InternalServerError', message: 'Scripted failure.' } },
        failures.status === 429 ? { 'Retry-After': '1' } : {});
      return;
    }
    if (fake.accessMode === 'forbidden') {
      json(403, { error: { code: 'Forbidden', message: `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/subscriptions/x/resourcegroups/rg/providers/microsoft.keyvault/vaults/fake/secrets/${name}'\r\nAssignment: (not found)\r\nVault: fake;location=westeurope\r\n`, innererror: { code: 'ForbiddenByRbac' } } });
      return;
    }
    const versions = secrets.get(name);
    const chosen = versions === undefined ? undefined : version ? versions.find((v) => v.version === version) : versions[versions.length - 1];
    if (chosen === undefined) {
      json(404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182` } });
      return;
    }
    if (!chosen.enabled) {
      json(403, { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } });
      return;
    }
    const seconds = Math.floor(chosen.created / 1000);
    json(200, {
      value: chosen.value,
      id: `${fake.vaultUrl}/secrets/${name}/${chosen.version}`,
      attributes: { enabled: true, created: seconds, updated: seconds, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    });
  });
  const port = await listenOnLoopback(server);

  const fake: FakeKeyVault = {
    vaultUrl: `https://127.0.0.1:${port}`,
    certificatePem: cert,
    accessMode: 'allow',
    hang: false,
    requests,
    setSecret(name, value) {
      const versions = secrets.get(name) ?? [];
      versions.push({ version: randomBytes(16).toString('hex'), value, created: now(), enabled: true });
      secrets.set(name, versions);
    },
    disableSecret(name) {
      const latest = secrets.get(name)?.at(-1);
      if (latest) latest.enabled = false;
    },
    deleteSecret(name) {
      secrets.delete(name);
    },
    failNext(count, status) {
      failures = { count, status };
    },
    resetCounters() {
      requests.get = 0;
      requests.byName = {};
    },
    close: () => closeServer(server),
  };
  return fake;
}

/** Any bearer token satisfies the fake vault; this one never expires during a test. */
export const fakeKeyVaultCredential: TokenCredential = {
  getToken: async () => ({ token: 'fake-key-vault-access-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
