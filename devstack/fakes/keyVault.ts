import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  acceptedConnections,
  closeServer,
  createGate,
  listenOnLoopback,
  readBody,
  type Gate,
  type HeldRequest,
} from './server.js';
import { z } from 'zod';
import { createSelfSignedCertificate } from './tls.js';

export interface FakeKeyVaultOptions {
  /** Clock for the secrets' `created`/`updated` attributes, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Tenant named in the authentication challenge. */
  readonly tenantId?: string;
  /** Delay before every answer, in ms, as a distant service would have. Default 0. */
  readonly latencyMs?: number;
}

/** What a version carries beside its value, as `PUT /secrets/{name}` takes it. */
export interface FakeSecretAttributes {
  readonly tags?: Readonly<Record<string, string>>;
  readonly contentType?: string;
  /** Epoch ms. */
  readonly expiresOn?: number;
  /** Epoch ms. */
  readonly notBefore?: number;
}

/** One version as the fake holds it, for assertions. */
export interface FakeSecretVersion extends FakeSecretAttributes {
  readonly version: string;
  readonly value: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Epoch ms. */
  readonly created: number;
  readonly enabled: boolean;
}

export interface FakeKeyVault {
  /** `https://127.0.0.1:PORT`. */
  readonly vaultUrl: string;
  /** The vault's self-signed certificate: `tlsOptions: { ca }` or NODE_EXTRA_CA_CERTS. */
  readonly certificatePem: string;
  /** `forbidden` answers every authenticated read and write with 403 ForbiddenByRbac. Default `allow`. */
  accessMode: 'allow' | 'forbidden';
  /**
   * `forbidden` answers writes (PUT, PATCH) with 403 ForbiddenByRbac while reads still work: an
   * identity with Key Vault Secrets User but not Secrets Officer. Default `allow`.
   */
  writeAccess: 'allow' | 'forbidden';
  /** Accept requests and never answer them: for client timeouts. `close()` still ends them. */
  hang: boolean;
  /** Drop every connection at once, as a vault that cannot be reached: clients see a network error. */
  down: boolean;
  /** Authenticated secret GETs (the unauthenticated challenge round trip is not counted). */
  readonly requests: { get: number; byName: Record<string, number> };
  /** Authenticated writes: `PUT /secrets/{name}` (a new version) and `PATCH /secrets/{name}/{version}`. */
  readonly writes: { put: number; patch: number };
  /** TLS connections accepted: fewer than requests when the client keeps them alive. */
  connections(): number;
  /** Adds a new version, which becomes the latest. Returns the version id. */
  setSecret(name: string, value: string, attributes?: FakeSecretAttributes): string;
  /** Every version of a secret, oldest first. */
  versions(name: string): readonly FakeSecretVersion[];
  /** Disables the latest version (a read by name then answers 403 SecretDisabled). */
  disableSecret(name: string): void;
  deleteSecret(name: string): void;
  /**
   * The next `count` authenticated reads answer `status`. 429 carries `Retry-After` (default 1 s,
   * the SDK waits that long before its retry); others only if `retryAfterSeconds` is given.
   */
  failNext(count: number, status: number, options?: { retryAfterSeconds?: number }): void;
  /**
   * Every authenticated read of `name` answers this, word for word, until `clear` is called: any
   * error the service documents (403 with innererror ForbiddenByFirewall, 401 AKV10032, ...).
   */
  answerSecret(name: string, answer: ScriptedVaultAnswer | 'clear'): void;
  /** The next `count` authenticated writes answer `status`, and change nothing. */
  failNextWrites(count: number, status: number, answer?: Omit<ScriptedVaultAnswer, 'status'>): void;
  /** Parks the next write until `release()`: two writers can then be interleaved on purpose. */
  holdNextWrite(): HeldRequest;
  resetCounters(): void;
  close(): Promise<void>;
}

/** An error answer as Key Vault sends it: `{error: {code, message, innererror?: {code}}}`. */
export interface ScriptedVaultAnswer {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly innerCode?: string;
  readonly headers?: Record<string, string>;
}

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly created: number;
  updated: number;
  enabled: boolean;
  tags: Record<string, string>;
  contentType: string | undefined;
  /** Epoch seconds, as on the wire. */
  exp: number | undefined;
  nbf: number | undefined;
}

/** `PUT /secrets/{name}` and `PATCH /secrets/{name}/{version}` bodies (Key Vault REST, SetSecret/UpdateSecret). */
const writeBody = z.object({
  value: z.string().optional(),
  contentType: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  attributes: z
    .object({ enabled: z.boolean().optional(), exp: z.number().int().optional(), nbf: z.number().int().optional() })
    .optional(),
});

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

/** The vault's error body for a scripted failure status. */
function failureBody(status: number): { code: string; message: string } {
  return FAILURE_BODIES[status] ?? { code: 'InternalServerError', message: 'Scripted failure.' };
}

/**
 * Azure Key Vault's secrets REST API over TLS, enough for the real SecretClient: challenge-based
 * authentication, reads, writes (`setSecret`: a new version with value, tags, content type and
 * `exp`/`nbf`; `updateSecretProperties`), versions, and the service's error bodies.
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
  const writes = { put: 0, patch: 0 };
  let failures = { count: 0, status: 500, retryAfterSeconds: undefined as number | undefined };
  const answers = new Map<string, ScriptedVaultAnswer>();
  let writeFailures: { count: number; status: number; answer?: Omit<ScriptedVaultAnswer, 'status'> | undefined } = {
    count: 0,
    status: 500,
  };
  const heldWrites: Gate[] = [];
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

  const forbidden = (res: ServerResponse, name: string, action: string) =>
    error(
      res,
      403,
      'Forbidden',
      [
        'Caller is not authorized to perform action on resource.',
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
        `Caller: appid=00000000-0000-0000-0000-000000000001;oid=00000000-0000-0000-0000-000000000002;iss=https://sts.windows.net/${tenantId}/`,
        `Action: 'Microsoft.KeyVault/vaults/secrets/${action}'`,
        `Resource: '/subscriptions/00000000-0000-0000-0000-000000000003/resourcegroups/rg-fake/providers/microsoft.keyvault/vaults/kv-fake/secrets/${name.toLowerCase()}'`,
        'Assignment: (not found)',
        'DenyAssignmentId: null',
        'DecisionReason: null',
        'Vault: kv-fake;location=westeurope',
        '',
      ].join('\r\n'),
      { innererror: { code: 'ForbiddenByRbac' } },
    );

  const bundle = (name: string, chosen: SecretVersion, withValue: boolean) => ({
    ...(withValue ? { value: chosen.value } : {}),
    ...(chosen.contentType === undefined ? {} : { contentType: chosen.contentType }),
    id: `${fake.vaultUrl}/secrets/${name}/${chosen.version}`,
    attributes: {
      enabled: chosen.enabled,
      ...(chosen.nbf === undefined ? {} : { nbf: chosen.nbf }),
      ...(chosen.exp === undefined ? {} : { exp: chosen.exp }),
      created: Math.floor(chosen.created / 1000),
      updated: Math.floor(chosen.updated / 1000),
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
    tags: chosen.tags,
  });

  const addVersion = (name: string, value: string, attributes: FakeSecretAttributes & { enabled?: boolean }) => {
    const versions = secrets.get(name) ?? [];
    const created = now();
    const added: SecretVersion = {
      version: randomBytes(16).toString('hex'),
      value,
      created,
      updated: created,
      enabled: attributes.enabled ?? true,
      tags: { ...attributes.tags },
      contentType: attributes.contentType,
      exp: attributes.expiresOn === undefined ? undefined : Math.floor(attributes.expiresOn / 1000),
      nbf: attributes.notBefore === undefined ? undefined : Math.floor(attributes.notBefore / 1000),
    };
    versions.push(added);
    secrets.set(name, versions);
    return added;
  };

  const read = (res: ServerResponse, name: string, version: string) => {
    requests.get++;
    requests.byName[name] = (requests.byName[name] ?? 0) + 1;
    const scripted = answers.get(name);
    if (scripted !== undefined) {
      error(
        res,
        scripted.status,
        scripted.code,
        scripted.message,
        scripted.innerCode === undefined ? {} : { innererror: { code: scripted.innerCode } },
        scripted.headers,
      );
      return;
    }
    if (failures.count > 0) {
      failures.count--;
      const body = failureBody(failures.status);
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
      forbidden(res, name, 'getSecret/action');
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
    json(res, 200, bundle(name, chosen, true));
  };

  const write = async (req: IncomingMessage, res: ServerResponse, name: string, version: string) => {
    const put = req.method === 'PUT';
    if (put) writes.put++;
    else writes.patch++;
    const held = heldWrites.shift();
    if (held !== undefined) {
      held.arrive();
      await held.released;
    }
    let body: z.output<typeof writeBody>;
    try {
      body = writeBody.parse(JSON.parse(await readBody(req, 64 * 1024)));
    } catch {
      error(res, 400, 'BadParameter', 'The request body is not a valid secret: a JSON object is expected.');
      return;
    }
    if (writeFailures.count > 0) {
      writeFailures.count--;
      const failure = writeFailures.answer ?? failureBody(writeFailures.status);
      const inner = writeFailures.answer?.innerCode;
      error(
        res,
        writeFailures.status,
        failure.code,
        failure.message,
        inner === undefined ? {} : { innererror: { code: inner } },
      );
      return;
    }
    if (fake.accessMode === 'forbidden' || fake.writeAccess === 'forbidden') {
      forbidden(res, name, put ? 'setSecret/action' : 'update/action');
      return;
    }
    if (put) {
      if (body.value === undefined) {
        error(res, 400, 'BadParameter', 'Property "value" is required.');
        return;
      }
      const added = addVersion(name, body.value, {
        ...(body.tags === undefined ? {} : { tags: body.tags }),
        ...(body.contentType === undefined ? {} : { contentType: body.contentType }),
        ...(body.attributes?.exp === undefined ? {} : { expiresOn: body.attributes.exp * 1000 }),
        ...(body.attributes?.nbf === undefined ? {} : { notBefore: body.attributes.nbf * 1000 }),
        ...(body.attributes?.enabled === undefined ? {} : { enabled: body.attributes.enabled }),
      });
      json(res, 200, bundle(name, added, true));
      return;
    }
    const chosen = secrets.get(name)?.find((v) => v.version === version);
    if (chosen === undefined) {
      error(res, 404, 'SecretNotFound', `A secret with (name/id) ${name}/${version} was not found in this key vault.`);
      return;
    }
    if (body.tags !== undefined) chosen.tags = { ...body.tags };
    if (body.contentType !== undefined) chosen.contentType = body.contentType;
    if (body.attributes?.enabled !== undefined) chosen.enabled = body.attributes.enabled;
    if (body.attributes?.exp !== undefined) chosen.exp = body.attributes.exp;
    if (body.attributes?.nbf !== undefined) chosen.nbf = body.attributes.nbf;
    chosen.updated = now();
    json(res, 200, bundle(name, chosen, false));
  };

  const server = createServer({ cert, key }, (req, res) => {
    if (fake.down) {
      req.socket.destroy();
      return;
    }
    const writing = req.method === 'PUT' || req.method === 'PATCH';
    if (!writing) req.resume();
    if (fake.hang) return;
    const authorization = req.headers.authorization ?? '';
    if (!/^Bearer \S+/.test(authorization)) {
      // The SDK's first request goes out without a token (and, for a write, with an empty body).
      if (writing) req.resume();
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
    const [, name = '', version = ''] = match ?? [];
    const allowed = req.method === 'GET' || (req.method === 'PUT' && !version) || (req.method === 'PATCH' && !!version);
    if (match === null || !allowed) {
      if (writing) req.resume();
      if (match === null) error(res, 404, 'NotFound', `The fake vault serves no ${req.method} ${url.pathname}.`);
      else error(res, 405, 'BadParameter', `The fake vault does not implement ${req.method} ${url.pathname}.`);
      return;
    }
    if (!url.searchParams.get('api-version')) {
      if (writing) req.resume();
      error(res, 400, 'BadParameter', 'The api-version query parameter is missing.');
      return;
    }
    if (!/^[0-9A-Za-z-]{1,127}$/.test(name)) {
      if (writing) req.resume();
      error(res, 400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
      return;
    }
    if (!writing) {
      read(res, name, version);
      return;
    }
    write(req, res, name, version).catch(() => {
      if (!res.headersSent) error(res, 500, 'InternalServerError', 'The fake vault failed.');
      else res.end();
    });
  });
  const port = await listenOnLoopback(server, options.latencyMs);

  const fake: FakeKeyVault = {
    vaultUrl: `https://127.0.0.1:${port}`,
    certificatePem: cert,
    accessMode: 'allow',
    writeAccess: 'allow',
    hang: false,
    down: false,
    requests,
    writes,
    connections: () => acceptedConnections(server),
    setSecret(name, value, attributes = {}) {
      return addVersion(name, value, attributes).version;
    },
    versions: (name) =>
      (secrets.get(name) ?? []).map((v) => ({
        version: v.version,
        value: v.value,
        tags: { ...v.tags },
        created: v.created,
        enabled: v.enabled,
        ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
        ...(v.exp === undefined ? {} : { expiresOn: v.exp * 1000 }),
        ...(v.nbf === undefined ? {} : { notBefore: v.nbf * 1000 }),
      })),
    disableSecret(name) {
      const latest = secrets.get(name)?.at(-1);
      if (latest) latest.enabled = false;
    },
    deleteSecret(name) {
      secrets.delete(name);
    },
    answerSecret(name, answer) {
      if (answer === 'clear') answers.delete(name);
      else answers.set(name, answer);
    },
    failNext(count, status, failOptions = {}) {
      failures = { count, status, retryAfterSeconds: failOptions.retryAfterSeconds };
    },
    failNextWrites(count, status, answer) {
      writeFailures = { count, status, answer };
    },
    holdNextWrite() {
      const gate = createGate();
      heldWrites.push(gate);
      return { arrived: gate.arrived, release: gate.release };
    },
    resetCounters() {
      requests.get = 0;
      requests.byName = {};
      writes.put = 0;
      writes.patch = 0;
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
