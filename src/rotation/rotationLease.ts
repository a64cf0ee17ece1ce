import type { TokenCredential } from '@azure/core-auth';
import { isRestError, type PipelineOptions } from '@azure/core-rest-pipeline';
import {
  BlobServiceClient,
  type BlobLeaseClient,
  type BlockBlobClient,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { describeError } from '../errors/serviceError.js';
import type { TokenResource } from '../model.js';
import { withTimeout } from '../timeout.js';
import { isCredentialError } from './credentialError.js';
import {
  credentialUnavailable,
  leaseHeld,
  leaseLost,
  leaseNotConfigured,
  leaseUnavailable,
  permissionMissing,
  resourceIdMissing,
  type LeaseHolderInfo,
  type RotationError,
} from './rotationError.js';

/**
 * Seconds a lease lasts unless renewed: the longest fixed lease Blob Storage grants (15-60 s, or
 * infinite, which a killed holder would keep for ever). A rotator that dies frees it within this.
 */
export const LEASE_DURATION_SECONDS = 60;
/**
 * A held lease is renewed before a change once this long has passed since it was last renewed
 * (ms), so every change starts with at least 45 s of lease left: more than one ARM call (30 s, its
 * retries included) or Key Vault call (20 s) may take.
 */
export const LEASE_RENEW_AFTER_MS = 15_000;
/** The container of the lease blobs, one blob per account, named after its ARM ID. */
export const LEASE_CONTAINER = 'key-rotation-leases';

/** One account's rotation lease, held for one run. */
export interface HeldLease {
  /**
   * Called before each change: renews the lease when LEASE_RENEW_AFTER_MS have passed since it was
   * last renewed. Throws `rotation_lease_lost` when it cannot be renewed (another rotator took it
   * after this one stalled past its end, or the storage account cannot be reached).
   */
  keep(): Promise<void>;
  /** Clears the holder and releases the lease. Throws on failure; the lease then ends by itself. */
  release(): Promise<void>;
}

/** Keeps rotators one at a time per account, across instances, the timer and `npm run rotate`. */
export interface RotationLeases {
  /**
   * Takes the lease of the resource's account and records who holds it. Throws
   * `rotation_lease_held` (naming the holder), `rotation_lease_unavailable`,
   * `rotation_permission_missing` or `rotation_credential_unavailable`.
   */
  acquire(resource: TokenResource, holder: LeaseHolderInfo): Promise<HeldLease>;
}

/** Rotation without lease storage: every acquisition fails, saying which setting to give. */
export const NO_LEASE_STORAGE: RotationLeases = {
  acquire: () => Promise.reject(leaseNotConfigured()),
};

export interface BlobRotationLeasesOptions {
  /** `https://{account}.blob.core.windows.net` (or the dev stack's `https://127.0.0.1:PORT/{account}`). */
  readonly blobServiceUrl: string;
  /** The app's identity; the token's audience is `https://storage.azure.com`. */
  readonly credential: TokenCredential;
  readonly now: () => number;
  /** Passed to the storage pipeline: `retryOptions`, and `tlsOptions.ca` for a loopback fake. */
  readonly clientOptions?: LeaseClientOptions;
  /** Budget for one storage call, retries included, in ms. Default 10000. */
  readonly timeoutMs?: number;
}

/**
 * The storage pipeline's options. `tlsOptions` is not in StoragePipelineOptions' type, but the
 * pipeline is built by core-rest-pipeline from these options as they are, which honours it (the
 * wire-level tests depend on it, so an SDK that stopped passing it through would fail them).
 */
export type LeaseClientOptions = StoragePipelineOptions & Pick<PipelineOptions, 'tlsOptions'>;

const STORAGE_ROLE_FIX =
  "Give the function's identity Storage Blob Data Owner or Contributor on the storage account (the Bicep in infra/ assigns Storage Blob Data Owner for the host's own storage); a new role assignment can take a few minutes to apply.";

/**
 * Rotation leases as Blob Storage leases (Lease Blob REST reference: a 60-second lease, 409
 * LeaseAlreadyPresent while another holds it) on one empty blob per account in the app's own
 * storage account (AzureWebJobsStorage), reached with the app's identity. The holder is written
 * into the blob's metadata (`holder`, `since`, `mode`), so a refused rotator can say who has it.
 */
export class BlobRotationLeases implements RotationLeases {
  readonly #container: ContainerClient;
  readonly #now: () => number;
  readonly #timeoutMs: number;

  constructor(options: BlobRotationLeasesOptions) {
    this.#now = options.now;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const clientOptions: LeaseClientOptions = {
      retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000 },
      ...options.clientOptions,
    };
    this.#container = new BlobServiceClient(
      options.blobServiceUrl,
      options.credential,
      clientOptions,
    ).getContainerClient(LEASE_CONTAINER);
  }

  async acquire(resource: TokenResource, holder: LeaseHolderInfo): Promise<HeldLease> {
    if (resource.resourceId === null) throw resourceIdMissing(resource.name);
    const account = resource.resourceId;
    const blob = this.#container.getBlockBlobClient(account.toLowerCase().replace(/^\/+/, ''));
    const lease = blob.getBlobLeaseClient();
    const call = <T>(work: (abortSignal: AbortSignal) => Promise<T>) => withTimeout(this.#timeoutMs, work);
    const take = () => call((abortSignal) => lease.acquireLease(LEASE_DURATION_SECONDS, { abortSignal }));
    try {
      try {
        await take();
      } catch (error) {
        if (!isRestError(error) || error.statusCode !== 404) throw error;
        await this.#create(blob);
        await take();
      }
    } catch (error) {
      if (
        isRestError(error) &&
        error.statusCode === 409 &&
        /^LeaseAlreadyPresent|^LeaseIsBreaking/.test(error.code ?? '')
      )
        throw leaseHeld(account, await this.#holderOf(blob), blob.url);
      throw this.#failure(blob.url, 'taking', error);
    }
    const renewedAt = this.#now();
    try {
      await call((abortSignal) =>
        blob.setMetadata(
          { holder: headerSafe(holder.holder), since: holder.since, mode: holder.mode },
          { abortSignal, conditions: { leaseId: lease.leaseId } },
        ),
      );
    } catch (error) {
      await call((abortSignal) => lease.releaseLease({ abortSignal })).catch(() => undefined);
      throw this.#failure(blob.url, 'recording the holder of', error);
    }
    return new BlobHeldLease({ blob, lease, account, now: this.#now, renewedAt, call });
  }

  /** The lease blob, empty, in its container; someone else creating it at the same time is fine. */
  async #create(blob: BlockBlobClient): Promise<void> {
    await withTimeout(this.#timeoutMs, (abortSignal) => this.#container.createIfNotExists({ abortSignal }));
    try {
      await withTimeout(this.#timeoutMs, (abortSignal) =>
        blob.upload('', 0, { abortSignal, conditions: { ifNoneMatch: '*' } }),
      );
    } catch (error) {
      // 409 BlobAlreadyExists, or 412 LeaseIdMissing: another rotator created it, and maybe leased it.
      if (!isRestError(error) || (error.statusCode !== 409 && error.statusCode !== 412)) throw error;
    }
  }

  async #holderOf(blob: BlockBlobClient): Promise<LeaseHolderInfo | undefined> {
    try {
      const { metadata = {} } = await withTimeout(this.#timeoutMs, (abortSignal) =>
        blob.getProperties({ abortSignal }),
      );
      const { holder, since, mode } = metadata;
      return holder === undefined || since === undefined || mode === undefined ? undefined : { holder, since, mode };
    } catch {
      return undefined;
    }
  }

  #failure(url: string, doing: string, error: unknown): RotationError {
    if (isCredentialError(error)) return credentialUnavailable('Azure Storage (the rotation lease)', error);
    if (isRestError(error) && error.statusCode === 401)
      return credentialUnavailable('Azure Storage (the rotation lease)', new Error(error.code ?? 'HTTP 401'));
    if (isRestError(error) && error.statusCode === 403) {
      return permissionMissing(
        'take the rotation lease',
        `Azure Storage answered 403 (${error.code ?? 'Forbidden'}) ${doing} the rotation lease ${url}`,
        STORAGE_ROLE_FIX,
      );
    }
    const answer =
      isRestError(error) && error.statusCode !== undefined
        ? `Azure Storage answered ${error.statusCode} (${error.code ?? 'error'})`
        : `no answer (${describeError(error)})`;
    return leaseUnavailable(`${doing} the rotation lease ${url}: ${answer}`, undefined, error);
  }
}

class BlobHeldLease implements HeldLease {
  readonly #blob: BlockBlobClient;
  readonly #lease: BlobLeaseClient;
  readonly #account: string;
  readonly #now: () => number;
  readonly #call: <T>(work: (abortSignal: AbortSignal) => Promise<T>) => Promise<T>;
  #renewedAt: number;

  constructor(parts: {
    blob: BlockBlobClient;
    lease: BlobLeaseClient;
    account: string;
    now: () => number;
    renewedAt: number;
    call: <T>(work: (abortSignal: AbortSignal) => Promise<T>) => Promise<T>;
  }) {
    this.#blob = parts.blob;
    this.#lease = parts.lease;
    this.#account = parts.account;
    this.#now = parts.now;
    this.#renewedAt = parts.renewedAt;
    this.#call = parts.call;
  }

  async keep(): Promise<void> {
    if (this.#now() - this.#renewedAt < LEASE_RENEW_AFTER_MS) return;
    try {
      await this.#call((abortSignal) => this.#lease.renewLease({ abortSignal }));
    } catch (error) {
      const what = isRestError(error)
        ? `Azure Storage answered ${error.statusCode ?? 'nothing'} (${error.code ?? 'error'})`
        : describeError(error);
      throw leaseLost(this.#account, what, error);
    }
    this.#renewedAt = this.#now();
  }

  async release(): Promise<void> {
    const leaseId = this.#lease.leaseId;
    await this.#call((abortSignal) => this.#blob.setMetadata({}, { abortSignal, conditions: { leaseId } }));
    await this.#call((abortSignal) => this.#lease.releaseLease({ abortSignal }));
  }
}

/** Metadata travels as HTTP headers: printable ASCII only. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}
