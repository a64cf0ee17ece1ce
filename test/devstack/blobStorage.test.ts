import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { isRestError } from '@azure/core-rest-pipeline';
import { BlobServiceClient, type BlockBlobClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeBlobStorage, type FakeBlobStorage } from '../../devstack/fakes/blobStorage.js';
import type { TokenResource } from '../../src/model.js';
import { RotationError } from '../../src/rotation/rotationError.js';
import { BlobRotationLeases, LEASE_CONTAINER, type LeaseClientOptions } from '../../src/rotation/rotationLease.js';
import { createServiceCredential } from '../../src/serviceCredential.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const CLIENT_ID = '3e5f7a9b-2c4d-4e6f-8a0b-c1d2e3f4a5b6';
const ACCOUNT =
  '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/speech-weu';
const BLOB_NAME = ACCOUNT.toLowerCase().slice(1);
const T0 = Date.parse('2026-12-01T00:00:00Z');

const resource: TokenResource = {
  name: 'speech',
  kind: 'speech',
  cloud: 'AzureCloud',
  region: 'westeurope',
  endpoint: null,
  privateEndpoint: false,
  secretName: 'speech-key',
  allowedRoles: ['Speech.Token'],
  allowedScopes: [],
  resourceId: ACCOUNT,
};

const clock = { now: T0 };
let blob: FakeBlobStorage;
let options: LeaseClientOptions;

const identity = useFileManagedIdentity({ clientId: CLIENT_ID });
beforeAll(async () => {
  blob = await startFakeBlobStorage({
    now: () => clock.now,
    acceptToken: (token) => identity().tokensFor('https://storage.azure.com').includes(token),
  });
  options = { tlsOptions: { ca: blob.certificatePem }, retryOptions: { maxTries: 1 } };
});
afterAll(async () => {
  await blob.close();
});
beforeEach(() => {
  blob.resetCalls();
  blob.access = 'allow';
  blob.failNext(0, 500);
});

const credential = () => createServiceCredential({ managedIdentity: true, clientId: CLIENT_ID });

/** A blob client of the real SDK, as the app's identity. */
function sdkBlob(name: string): BlockBlobClient {
  return new BlobServiceClient(blob.url, credential(), options).getContainerClient('plain').getBlockBlobClient(name);
}

async function restError(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string | undefined }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRestError(error)) throw new Error(`expected a RestError, got ${String(error)}`);
  return { status: error.statusCode, code: error.code };
}

async function rotationFailure(promise: Promise<unknown>): Promise<RotationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RotationError)) throw new Error(`expected a RotationError, got ${String(error)}`);
  return error;
}

function leases(): BlobRotationLeases {
  return new BlobRotationLeases({
    blobServiceUrl: blob.url,
    credential: credential(),
    now: () => clock.now,
    clientOptions: options,
  });
}

describe('fake Blob Storage, driven by the real @azure/storage-blob client and managed identity', () => {
  beforeAll(async () => {
    await new BlobServiceClient(blob.url, credential(), options).getContainerClient('plain').createIfNotExists();
  });

  it('creates a block blob once (If-None-Match: *), with a token for https://storage.azure.com', async () => {
    const client = sdkBlob('once');
    await client.upload('', 0, { conditions: { ifNoneMatch: '*' } });
    expect(await restError(client.upload('', 0, { conditions: { ifNoneMatch: '*' } }))).toEqual({
      status: 409,
      code: 'BlobAlreadyExists',
    });
    expect(identity().requests).toContainEqual({ resource: 'https://storage.azure.com', clientId: CLIENT_ID });
    expect(blob.blobs('plain')).toContain('once');
  });

  it('acquire: 201 with the proposed id; a second acquirer gets 409 LeaseAlreadyPresent; the state and duration show', async () => {
    const client = sdkBlob('acquire');
    await client.upload('', 0);
    const first = client.getBlobLeaseClient();
    const taken = await first.acquireLease(60);
    expect(taken.leaseId).toBe(first.leaseId);
    expect(await restError(client.getBlobLeaseClient().acquireLease(30))).toEqual({
      status: 409,
      code: 'LeaseAlreadyPresent',
    });
    const properties = await client.getProperties();
    expect(properties).toMatchObject({ leaseState: 'leased', leaseStatus: 'locked', leaseDuration: 'fixed' });
    expect(blob.lease('plain', 'acquire')).toEqual({
      state: 'leased',
      id: first.leaseId,
      durationSeconds: 60,
      endsAt: T0 + 60_000,
    });
    // Acquiring again with the same id is allowed (it can change the duration).
    await first.acquireLease(15);
    expect(blob.lease('plain', 'acquire').endsAt).toBe(clock.now + 15_000);
    await first.releaseLease();
  });

  it('durations are 15-60 s or infinite: anything else is 400 InvalidHeaderValue', async () => {
    const client = sdkBlob('durations');
    await client.upload('', 0);
    for (const duration of [14, 61, 0]) {
      expect(await restError(client.getBlobLeaseClient().acquireLease(duration))).toEqual({
        status: 400,
        code: 'InvalidHeaderValue',
      });
    }
    const infinite = client.getBlobLeaseClient();
    await infinite.acquireLease(-1);
    clock.now += 86_400_000;
    expect((await client.getProperties()).leaseDuration).toBe('infinite');
    await infinite.releaseLease();
  });

  it('expiry on the fake clock: another acquirer gets it; the first can no longer renew or release it', async () => {
    const client = sdkBlob('expiry');
    await client.upload('', 0);
    const first = client.getBlobLeaseClient();
    await first.acquireLease(60);
    clock.now += 59_000;
    expect(await restError(client.getBlobLeaseClient().acquireLease(60))).toMatchObject({
      code: 'LeaseAlreadyPresent',
    });
    clock.now += 1_000;
    expect((await client.getProperties()).leaseState).toBe('expired');
    const second = client.getBlobLeaseClient();
    await second.acquireLease(60);
    expect(await restError(first.renewLease())).toEqual({ status: 409, code: 'LeaseIdMismatchWithLeaseOperation' });
    expect(await restError(first.releaseLease())).toEqual({ status: 409, code: 'LeaseIdMismatchWithLeaseOperation' });
    await second.releaseLease();
    expect(await restError(second.renewLease())).toEqual({ status: 409, code: 'LeaseNotPresentWithLeaseOperation' });
  });

  it('an expired lease nobody took since is renewed by its holder', async () => {
    const client = sdkBlob('renew-expired');
    await client.upload('', 0);
    const lease = client.getBlobLeaseClient();
    await lease.acquireLease(15);
    clock.now += 20_000;
    await lease.renewLease();
    expect(blob.lease('plain', 'renew-expired')).toMatchObject({ state: 'leased', endsAt: clock.now + 15_000 });
    await lease.releaseLease();
  });

  it('break: breaking for the period asked, then broken; no renewal; a new acquirer waits for the break', async () => {
    const client = sdkBlob('break');
    await client.upload('', 0);
    const held = client.getBlobLeaseClient();
    await held.acquireLease(60);
    const broken = await client.getBlobLeaseClient().breakLease(10);
    expect(broken.leaseTime).toBe(10);
    expect((await client.getProperties()).leaseState).toBe('breaking');
    expect(await restError(client.getBlobLeaseClient().acquireLease(60))).toEqual({
      status: 409,
      code: 'LeaseIsBreakingAndCannotBeAcquired',
    });
    expect(await restError(held.renewLease())).toEqual({ status: 409, code: 'LeaseIsBreakingAndCannotBeRenewed' });
    clock.now += 10_000;
    expect((await client.getProperties()).leaseState).toBe('broken');
    expect(await restError(held.renewLease())).toEqual({ status: 409, code: 'LeaseIsBrokenAndCannotBeRenewed' });
    const next = client.getBlobLeaseClient();
    await next.acquireLease(60);
    // Break with no period ends a lease at once; there is nothing to break on a blob that does not exist.
    expect((await client.getBlobLeaseClient().breakLease(0)).leaseTime).toBe(0);
    expect((await client.getProperties()).leaseState).toBe('broken');
    expect(await restError(sdkBlob('nothing').getBlobLeaseClient().breakLease(0))).toEqual({
      status: 404,
      code: 'BlobNotFound',
    });
  });

  it('writes to a leased blob need its lease id: 412 LeaseIdMissing, LeaseIdMismatchWithBlobOperation', async () => {
    const client = sdkBlob('guarded');
    await client.upload('', 0);
    const lease = client.getBlobLeaseClient();
    await lease.acquireLease(60);
    expect(await restError(client.setMetadata({ holder: 'someone' }))).toEqual({ status: 412, code: 'LeaseIdMissing' });
    expect(
      await restError(client.setMetadata({ holder: 'someone' }, { conditions: { leaseId: randomUUID() } })),
    ).toEqual({ status: 412, code: 'LeaseIdMismatchWithBlobOperation' });
    await client.setMetadata({ holder: 'me' }, { conditions: { leaseId: lease.leaseId } });
    expect((await client.getProperties()).metadata).toEqual({ holder: 'me' });
    await lease.releaseLease();
    expect(await restError(client.setMetadata({}, { conditions: { leaseId: lease.leaseId } }))).toEqual({
      status: 412,
      code: 'LeaseNotPresentWithBlobOperation',
    });
  });

  it('refuses a request without a bearer token (401 with the challenge), and an identity without a data role (403)', async () => {
    const unauthenticated = await new Promise<{ status: number; code: string; challenge: string }>(
      (resolve, reject) => {
        const req = request(
          `${blob.url}/plain/once`,
          { method: 'HEAD', ca: blob.certificatePem, headers: { 'x-ms-version': '2025-11-05' } },
          (res) => {
            res.resume();
            resolve({
              status: res.statusCode ?? 0,
              code: String(res.headers['x-ms-error-code']),
              challenge: String(res.headers['www-authenticate']),
            });
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(unauthenticated).toEqual({
      status: 401,
      code: 'NoAuthenticationInformation',
      challenge: expect.stringContaining('resource_id=https://storage.azure.com'),
    });
    blob.access = 'forbidden';
    expect(await restError(sdkBlob('once').setMetadata({}))).toEqual({
      status: 403,
      code: 'AuthorizationPermissionMismatch',
    });
  });
});

describe('BlobRotationLeases: one lease per account, with its holder', () => {
  const holder = {
    holder: 'npm run rotate on host build-7 pid 4242',
    since: new Date(T0).toISOString(),
    mode: 'leaked',
  };

  it('creates the container and the blob on first use, takes a 60-second lease and records the holder', async () => {
    const lease = await leases().acquire(resource, holder);
    expect(blob.blobs(LEASE_CONTAINER)).toEqual([BLOB_NAME]);
    expect(blob.lease(LEASE_CONTAINER, BLOB_NAME)).toMatchObject({ state: 'leased', durationSeconds: 60 });
    expect(blob.metadata(LEASE_CONTAINER, BLOB_NAME)).toEqual(holder);
    await lease.release();
    expect(blob.lease(LEASE_CONTAINER, BLOB_NAME).state).toBe('available');
    expect(blob.metadata(LEASE_CONTAINER, BLOB_NAME)).toEqual({});
  });

  it('a second acquirer is refused with rotation_lease_held naming the holder, until the first releases', async () => {
    const first = await leases().acquire(resource, holder);
    const refused = await rotationFailure(leases().acquire(resource, { ...holder, holder: 'the timer' }));
    expect(refused).toMatchObject({
      code: 'rotation_lease_held',
      diagnosis: `the rotation lease of ${ACCOUNT} is held by npm run rotate on host build-7 pid 4242, since ${holder.since}, mode leaked`,
      fix: expect.stringContaining(`${blob.url}/${LEASE_CONTAINER}/${BLOB_NAME}`),
    });
    await first.release();
    await (await leases().acquire(resource, holder)).release();
  });

  it('keep() renews only once 15 s have passed since the last renewal, and fails once another took the lease', async () => {
    const lease = await leases().acquire(resource, holder);
    blob.resetCalls();
    clock.now += 14_000;
    await lease.keep();
    expect(blob.calls).toEqual([]);
    clock.now += 1_000;
    await lease.keep();
    expect(blob.calls).toEqual([
      expect.objectContaining({ operation: 'leaseBlob', leaseAction: 'renew', status: 200 }),
    ]);
    // Stalled past the lease: another rotator takes it, and this one learns it at its next change.
    clock.now += 61_000;
    const other = await leases().acquire(resource, { ...holder, holder: 'the timer' });
    expect(await rotationFailure(lease.keep())).toMatchObject({
      code: 'rotation_lease_lost',
      diagnosis: expect.stringContaining('Azure Storage answered 409 (LeaseIdMismatchWithLeaseOperation)'),
    });
    await other.release();
  });

  it('storage that cannot be reached or refuses the identity: lease_unavailable, permission_missing', async () => {
    blob.failNext(5, 503);
    expect(await rotationFailure(leases().acquire(resource, holder))).toMatchObject({
      code: 'rotation_lease_unavailable',
      diagnosis: expect.stringMatching(
        /^taking the rotation lease .*: Azure Storage answered 503 \(ServerBusy\); nothing was changed$/,
      ),
    });
    blob.failNext(0, 500);
    blob.access = 'forbidden';
    expect(await rotationFailure(leases().acquire(resource, holder))).toMatchObject({
      code: 'rotation_permission_missing',
      fix: expect.stringContaining('Storage Blob Data Owner or Contributor'),
    });
  });
});
