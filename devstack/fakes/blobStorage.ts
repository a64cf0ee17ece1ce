import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import {
  acceptedConnections,
  closeServer,
  createGate,
  listenOnLoopback,
  readBody,
  type Gate,
  type HeldRequest,
} from './server.js';
import { createSelfSignedCertificate } from './tls.js';

/** The operations the fake serves, named as the Blob service REST reference names them. */
export type BlobOperation =
  'createContainer' | 'putBlob' | 'getBlobProperties' | 'setBlobMetadata' | 'leaseBlob' | 'unknown';

export interface FakeBlobCall {
  readonly operation: BlobOperation;
  /** `container/blob`, or the container alone. */
  readonly path: string;
  /** `x-ms-lease-action` of a Lease Blob call. */
  readonly leaseAction?: string;
  readonly status: number;
  /** The service's error code (`x-ms-error-code`), when the answer is an error. */
  readonly errorCode?: string;
}

/** A lease as the service holds it. `state` is computed against the fake's clock. */
export interface FakeLease {
  readonly state: 'available' | 'leased' | 'expired' | 'breaking' | 'broken';
  readonly id: string | undefined;
  /** Seconds, or -1 for infinite. */
  readonly durationSeconds: number | undefined;
  /** Epoch ms: when a fixed lease expires, or a breaking one breaks. */
  readonly endsAt: number | undefined;
}

export interface FakeBlobStorageOptions {
  /** The account name in the path: `https://127.0.0.1:PORT/{accountName}`. Default `devstoreaccount1`. */
  readonly accountName?: string;
  /** Clock for lease expiry and `Last-Modified`, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Whether a bearer token is one Azure Storage accepts (audience `https://storage.azure.com`). Default: any. */
  readonly acceptToken?: (token: string) => boolean;
  /** Tenant named in the authentication challenge. */
  readonly tenantId?: string;
  /** Delay before every answer, in ms. Default 0. */
  readonly latencyMs?: number;
}

export interface FakeBlobStorage {
  /** `https://127.0.0.1:PORT/{account}`: the blob service URL, as `AzureWebJobsStorage__blobServiceUri`. */
  readonly url: string;
  /** The self-signed certificate (the same as the other fakes'): `tlsOptions: { ca }` or NODE_EXTRA_CA_CERTS. */
  readonly certificatePem: string;
  readonly calls: FakeBlobCall[];
  /** The blob's lease now (`available` for a blob that does not exist). */
  lease(container: string, blob: string): FakeLease;
  /** The blob's metadata, or `undefined` when it does not exist. */
  metadata(container: string, blob: string): Readonly<Record<string, string>> | undefined;
  /** Every blob name in a container. */
  blobs(container: string): readonly string[];
  /** `forbidden` answers every authenticated request 403 AuthorizationPermissionMismatch (no data role). */
  access: 'allow' | 'forbidden';
  /** Drop every connection at once, as an account that cannot be reached. */
  down: boolean;
  /** The next `count` calls (of `operation`, or any) answer `status` with the service's error body. */
  failNext(count: number, status: 500 | 503, operation?: BlobOperation): void;
  /**
   * Ends the blob's lease now, as time would once its holder stopped renewing it (a stalled or
   * killed rotator): its state becomes `expired` and anyone may acquire it.
   */
  expireLease(container: string, blob: string): void;
  /** Parks the next Lease Blob call with this action until `release()`. */
  holdNextLease(action: 'acquire' | 'renew' | 'release' | 'break'): HeldRequest;
  resetCalls(): void;
  connections(): number;
  close(): Promise<void>;
}

interface Lease {
  id: string | undefined;
  /** Seconds; -1: infinite. */
  duration: number;
  /** As set by the last operation; `effective()` turns an ended fixed lease or break into expired/broken. */
  state: FakeLease['state'];
  endsAt: number | undefined;
}

interface Blob {
  metadata: Record<string, string>;
  etag: string;
  created: number;
  modified: number;
  lease: Lease;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LEASE_ACTIONS = new Set(['acquire', 'renew', 'change', 'release', 'break']);

/**
 * Azure Blob Storage over TLS, as far as a lease needs it (Blob service REST reference): Create
 * Container (`PUT ?restype=container`), Put Blob (block blob, `If-None-Match: *`), Get Blob
 * Properties (`HEAD`, with `x-ms-lease-state`/`-status`/`-duration` and `x-ms-meta-*`), Set Blob
 * Metadata (`PUT ?comp=metadata`) and Lease Blob (`PUT ?comp=lease`, `x-ms-lease-action` acquire,
 * renew, change, release or break; durations 15-60 s or -1 for infinite; the outcomes of each action
 * in each lease state, e.g. 409 LeaseAlreadyPresent; writes to a leased blob need its lease id, 412
 * LeaseIdMissing). Errors carry `x-ms-error-code` and the XML `<Error>` body. Paths are the
 * emulator's IP style, `/{account}/{container}/{blob}`, which the SDK picks for an IP host. Bearer
 * tokens only: TLS, because no Azure client sends one over plain http.
 */
export async function startFakeBlobStorage(options: FakeBlobStorageOptions = {}): Promise<FakeBlobStorage> {
  const now = options.now ?? Date.now;
  const account = options.accountName ?? 'devstoreaccount1';
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-000000000000';
  const { cert, key } = createSelfSignedCertificate();
  const containers = new Map<string, Map<string, Blob>>();
  const calls: FakeBlobCall[] = [];
  let failures: { count: number; status: number; operation: BlobOperation | undefined } = {
    count: 0,
    status: 500,
    operation: undefined,
  };
  const heldLeases: { action: string; gate: Gate }[] = [];

  const effective = (lease: Lease): Lease => {
    const t = now();
    if (lease.state === 'leased' && lease.duration !== -1 && lease.endsAt !== undefined && t >= lease.endsAt)
      return { ...lease, state: 'expired' };
    if (lease.state === 'breaking' && lease.endsAt !== undefined && t >= lease.endsAt)
      return { ...lease, state: 'broken' };
    return lease;
  };
  const activeLease = (lease: Lease) => {
    const state = effective(lease).state;
    return state === 'leased' || state === 'breaking';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://blob');
    const [first = '', containerName = '', ...rest] = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const blobName = rest.join('/');
    const method = req.method ?? 'GET';
    const comp = url.searchParams.get('comp');
    const restype = url.searchParams.get('restype');
    const operation: BlobOperation =
      method === 'PUT' && restype === 'container' && comp === null && blobName === ''
        ? 'createContainer'
        : method === 'PUT' && comp === null && blobName !== ''
          ? 'putBlob'
          : method === 'HEAD' && comp === null && blobName !== ''
            ? 'getBlobProperties'
            : method === 'PUT' && comp === 'metadata' && blobName !== ''
              ? 'setBlobMetadata'
              : method === 'PUT' && comp === 'lease' && blobName !== ''
                ? 'leaseBlob'
                : 'unknown';
    const leaseAction = operation === 'leaseBlob' ? String(req.headers['x-ms-lease-action'] ?? '') : undefined;
    await readBody(req, 64 * 1024);
    const path = blobName === '' ? containerName : `${containerName}/${blobName}`;

    const answer = (status: number, headers: Record<string, string> = {}, errorCode?: string, body = '') => {
      calls.push({
        operation,
        path,
        status,
        ...(leaseAction === undefined ? {} : { leaseAction }),
        ...(errorCode === undefined ? {} : { errorCode }),
      });
      res.writeHead(status, {
        'x-ms-request-id': randomUUID(),
        'x-ms-version': String(req.headers['x-ms-version'] ?? '2025-11-05'),
        Date: new Date(now()).toUTCString(),
        ...(body === '' ? { 'Content-Length': '0' } : { 'Content-Type': 'application/xml' }),
        ...(errorCode === undefined ? {} : { 'x-ms-error-code': errorCode }),
        ...headers,
      });
      res.end(method === 'HEAD' ? undefined : body);
    };
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      answer(
        status,
        headers,
        code,
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date(now()).toISOString()}</Message></Error>`,
      );

    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      fail(
        401,
        'NoAuthenticationInformation',
        'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
        {
          'WWW-Authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/${tenantId}/oauth2/authorize resource_id=https://storage.azure.com`,
        },
      );
      return;
    }
    if (options.acceptToken !== undefined && !options.acceptToken(token)) {
      fail(
        401,
        'InvalidAuthenticationInfo',
        'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
        {
          'WWW-Authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/${tenantId}/oauth2/authorize resource_id=https://storage.azure.com`,
        },
      );
      return;
    }
    if (req.headers['x-ms-version'] === undefined) {
      fail(400, 'MissingRequiredHeader', "An HTTP header that's mandatory for this request is not specified.");
      return;
    }
    if (first !== account) {
      fail(400, 'InvalidUri', `The requested URI does not represent any resource on the server (account "${first}").`);
      return;
    }
    if (fake.access === 'forbidden') {
      fail(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      );
      return;
    }
    if (operation === 'unknown') {
      fail(
        400,
        'UnsupportedHttpVerb',
        `The fake blob service does not implement ${method} ${url.pathname}${url.search}.`,
      );
      return;
    }
    const scripted =
      failures.count > 0 && (failures.operation === undefined || failures.operation === operation)
        ? failures.status
        : undefined;
    if (scripted !== undefined) {
      failures.count--;
      fail(
        scripted,
        scripted === 503 ? 'ServerBusy' : 'InternalError',
        scripted === 503
          ? 'The server is currently unable to receive requests. Please retry your request.'
          : 'The server encountered an internal error. Please retry the request.',
      );
      return;
    }

    if (operation === 'createContainer') {
      if (containers.has(containerName)) {
        fail(409, 'ContainerAlreadyExists', 'The specified container already exists.');
        return;
      }
      containers.set(containerName, new Map());
      answer(201, { ETag: `"0x${now().toString(16).toUpperCase()}"`, 'Last-Modified': new Date(now()).toUTCString() });
      return;
    }
    const container = containers.get(containerName);
    if (container === undefined) {
      fail(404, 'ContainerNotFound', 'The specified container does not exist.');
      return;
    }
    const blob = container.get(blobName);
    const leaseIdHeader = req.headers['x-ms-lease-id'] as string | undefined;
    const stamp = (b: Blob) => ({ ETag: b.etag, 'Last-Modified': new Date(b.modified).toUTCString() });
    const touch = (b: Blob) => {
      b.modified = now();
      b.etag = `"0x${randomUUID().replace(/-/g, '').slice(0, 15).toUpperCase()}"`;
    };
    /** A write to a blob: the lease rules of every write operation. Returns false when refused. */
    const mayWrite = (b: Blob): boolean => {
      if (activeLease(b.lease)) {
        if (leaseIdHeader === undefined) {
          fail(
            412,
            'LeaseIdMissing',
            'There is currently a lease on the blob and no lease ID was specified in the request.',
          );
          return false;
        }
        if (leaseIdHeader.toLowerCase() !== b.lease.id) {
          fail(
            412,
            'LeaseIdMismatchWithBlobOperation',
            'The lease ID specified did not match the lease ID for the blob.',
          );
          return false;
        }
      } else if (leaseIdHeader !== undefined) {
        fail(412, 'LeaseNotPresentWithBlobOperation', 'There is currently no lease on the blob.');
        return false;
      }
      return true;
    };

    if (operation === 'putBlob') {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        fail(
          400,
          'InvalidHeaderValue',
          'The value for one of the HTTP headers is not in the correct format (x-ms-blob-type).',
        );
        return;
      }
      if (blob !== undefined && req.headers['if-none-match'] === '*') {
        fail(409, 'BlobAlreadyExists', 'The specified blob already exists.');
        return;
      }
      if (blob !== undefined && !mayWrite(blob)) return;
      const created: Blob = blob ?? {
        metadata: {},
        etag: '',
        created: now(),
        modified: now(),
        lease: { id: undefined, duration: -1, state: 'available', endsAt: undefined },
      };
      created.metadata = metadataOf(req);
      touch(created);
      container.set(blobName, created);
      answer(201, stamp(created));
      return;
    }
    if (blob === undefined) {
      fail(404, 'BlobNotFound', 'The specified blob does not exist.');
      return;
    }
    if (operation === 'getBlobProperties') {
      const lease = effective(blob.lease);
      answer(200, {
        ...stamp(blob),
        'x-ms-blob-type': 'BlockBlob',
        'x-ms-creation-time': new Date(blob.created).toUTCString(),
        'x-ms-lease-state': lease.state,
        'x-ms-lease-status': lease.state === 'leased' || lease.state === 'breaking' ? 'locked' : 'unlocked',
        ...(lease.state === 'leased' ? { 'x-ms-lease-duration': lease.duration === -1 ? 'infinite' : 'fixed' } : {}),
        ...Object.fromEntries(Object.entries(blob.metadata).map(([name, value]) => [`x-ms-meta-${name}`, value])),
      });
      return;
    }
    if (operation === 'setBlobMetadata') {
      if (!mayWrite(blob)) return;
      blob.metadata = metadataOf(req);
      touch(blob);
      answer(200, stamp(blob));
      return;
    }

    // Lease Blob.
    const action = leaseAction ?? '';
    if (!LEASE_ACTIONS.has(action)) {
      fail(
        400,
        'InvalidHeaderValue',
        'The value for one of the HTTP headers is not in the correct format (x-ms-lease-action).',
      );
      return;
    }
    const held = heldLeases.findIndex((h) => h.action === action);
    if (held !== -1) {
      const [parked] = heldLeases.splice(held, 1);
      parked?.gate.arrive();
      await parked?.gate.released;
    }
    const lease = effective(blob.lease);
    const given = leaseIdHeader?.toLowerCase();
    const proposed = (req.headers['x-ms-proposed-lease-id'] as string | undefined)?.toLowerCase();
    const matches = given !== undefined && given === lease.id;
    const mismatch = () =>
      fail(409, 'LeaseIdMismatchWithLeaseOperation', 'The lease ID specified did not match the lease ID for the blob.');
    const notPresent = () => fail(409, 'LeaseNotPresentWithLeaseOperation', 'There is currently no lease on the blob.');
    /** Renew and release need a lease, and its id. */
    const refusedForLeaseId = (): boolean => {
      if (lease.state === 'available') notPresent();
      else if (!matches) mismatch();
      else return false;
      return true;
    };
    const leased = (status: number, extra: Record<string, string> = {}) =>
      answer(status, {
        ...stamp(blob),
        ...(blob.lease.id === undefined ? {} : { 'x-ms-lease-id': blob.lease.id }),
        ...extra,
      });

    if (action === 'acquire') {
      const duration = Number(req.headers['x-ms-lease-duration']);
      if (!(duration === -1 || (Number.isInteger(duration) && duration >= 15 && duration <= 60))) {
        fail(
          400,
          'InvalidHeaderValue',
          'The value for one of the HTTP headers is not in the correct format (x-ms-lease-duration: -1, or 15 to 60 seconds).',
        );
        return;
      }
      if (proposed !== undefined && !GUID.test(proposed)) {
        fail(
          400,
          'InvalidHeaderValue',
          'The value for one of the HTTP headers is not in the correct format (x-ms-proposed-lease-id).',
        );
        return;
      }
      if (lease.state === 'breaking') {
        fail(
          409,
          'LeaseIsBreakingAndCannotBeAcquired',
          'There is already a breaking lease on the blob; it cannot be acquired until broken.',
        );
        return;
      }
      // A leased blob can be acquired again only with its own lease id (which may change the duration).
      if (lease.state === 'leased' && proposed !== lease.id) {
        fail(409, 'LeaseAlreadyPresent', 'There is already a lease present.');
        return;
      }
      blob.lease = {
        id: proposed ?? randomUUID(),
        duration,
        state: 'leased',
        endsAt: duration === -1 ? undefined : now() + duration * 1000,
      };
      leased(201);
      return;
    }
    if (action === 'renew') {
      if (refusedForLeaseId()) return;
      if (lease.state === 'breaking') {
        fail(
          409,
          'LeaseIsBreakingAndCannotBeRenewed',
          'The lease ID matched, but the lease is currently in breaking state and cannot be renewed.',
        );
        return;
      }
      if (lease.state === 'broken') {
        fail(
          409,
          'LeaseIsBrokenAndCannotBeRenewed',
          'The lease ID matched, but the lease has been broken explicitly and cannot be renewed.',
        );
        return;
      }
      // Leased or expired (and not leased by anyone since): renewed for its duration from now.
      blob.lease = {
        ...lease,
        state: 'leased',
        endsAt: lease.duration === -1 ? undefined : now() + lease.duration * 1000,
      };
      leased(200);
      return;
    }
    if (action === 'change') {
      if (lease.state === 'available' || lease.state === 'expired') {
        notPresent();
        return;
      }
      if (proposed === undefined || !GUID.test(proposed)) {
        fail(
          400,
          'InvalidHeaderValue',
          'The value for one of the HTTP headers is not in the correct format (x-ms-proposed-lease-id).',
        );
        return;
      }
      if (!matches && given !== proposed) {
        mismatch();
        return;
      }
      if (lease.state !== 'leased') {
        fail(
          409,
          'LeaseIsBrokenAndCannotBeChanged',
          'The lease ID matched, but the lease has been broken or is breaking and cannot be changed.',
        );
        return;
      }
      blob.lease = { ...lease, id: proposed };
      leased(200);
      return;
    }
    if (action === 'release') {
      if (refusedForLeaseId()) return;
      blob.lease = { id: undefined, duration: -1, state: 'available', endsAt: undefined };
      answer(200, stamp(blob));
      return;
    }
    // break: any caller, no lease id needed.
    if (lease.state === 'available') {
      notPresent();
      return;
    }
    const periodHeader = req.headers['x-ms-lease-break-period'] as string | undefined;
    const requested = periodHeader === undefined ? undefined : Number(periodHeader);
    if (requested !== undefined && !(Number.isInteger(requested) && requested >= 0 && requested <= 60)) {
      fail(
        400,
        'InvalidHeaderValue',
        'The value for one of the HTTP headers is not in the correct format (x-ms-lease-break-period: 0 to 60).',
      );
      return;
    }
    const remaining = (endsAt: number | undefined) =>
      endsAt === undefined ? 0 : Math.max(0, Math.ceil((endsAt - now()) / 1000));
    let seconds: number;
    if (lease.state === 'expired' || lease.state === 'broken') seconds = 0;
    else if (lease.state === 'breaking')
      seconds = Math.min(remaining(lease.endsAt), requested ?? Number.POSITIVE_INFINITY);
    else seconds = requested ?? (lease.duration === -1 ? 0 : remaining(lease.endsAt));
    blob.lease = {
      ...lease,
      state: seconds === 0 ? 'broken' : 'breaking',
      endsAt: seconds === 0 ? undefined : now() + seconds * 1000,
    };
    answer(202, { ...stamp(blob), 'x-ms-lease-time': String(seconds) });
  };

  const server = createServer({ cert, key }, (req, res) => {
    if (fake.down) {
      req.socket.destroy();
      return;
    }
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'x-ms-error-code': 'InternalError' });
        res.end();
      } else res.end();
    });
  });
  const port = await listenOnLoopback(server, options.latencyMs);

  const fake: FakeBlobStorage = {
    url: `https://127.0.0.1:${port}/${account}`,
    certificatePem: cert,
    calls,
    access: 'allow',
    down: false,
    lease(container, blobName) {
      const blob = containers.get(container)?.get(blobName);
      if (blob === undefined)
        return { state: 'available', id: undefined, durationSeconds: undefined, endsAt: undefined };
      const lease = effective(blob.lease);
      return {
        state: lease.state,
        id: lease.state === 'available' ? undefined : lease.id,
        durationSeconds: lease.state === 'available' ? undefined : lease.duration,
        endsAt: lease.endsAt,
      };
    },
    metadata: (container, blobName) => {
      const blob = containers.get(container)?.get(blobName);
      return blob === undefined ? undefined : { ...blob.metadata };
    },
    blobs: (container) => [...(containers.get(container)?.keys() ?? [])],
    expireLease(container, blobName) {
      const blob = containers.get(container)?.get(blobName);
      if (blob?.lease.state === 'leased') blob.lease = { ...blob.lease, duration: 60, endsAt: now() };
    },
    failNext(count, status, operation) {
      failures = { count, status, operation };
    },
    holdNextLease(action) {
      const gate = createGate();
      heldLeases.push({ action, gate });
      return { arrived: gate.arrived, release: gate.release };
    },
    resetCalls() {
      calls.length = 0;
    },
    connections: () => acceptedConnections(server),
    close: () => closeServer(server),
  };
  return fake;
}

/** `x-ms-meta-{name}` headers, as the service stores them (names lower-cased by HTTP). */
function metadataOf(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-ms-meta-') && typeof value === 'string') metadata[name.slice('x-ms-meta-'.length)] = value;
  }
  return metadata;
}
