import type { TokenCredential } from '@azure/core-auth';
import { isRestError } from '@azure/core-rest-pipeline';
import type { KeyVaultSecret, SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';
import {
  AggregateAuthenticationErrorName,
  AuthenticationErrorName,
  CredentialUnavailableErrorName,
} from '@azure/identity';
import { describeError } from '../errors/serviceError.js';
import { readKey } from '../secrets/keyShape.js';
import { createSecretClient } from '../secrets/keyVaultSecretSource.js';
import { withTimeout } from '../timeout.js';
import {
  credentialUnavailable,
  keyVaultUnavailable,
  permissionMissing,
  SECRET_ROLE_FIX,
  secretNotFound,
  secretWriteFailed,
  type RotationError,
} from './rotationError.js';

/** The latest version of a secret, read past every cache. Never log `value`. */
export interface StoredKey {
  readonly value: string;
  readonly version: string;
  readonly tags: Readonly<Record<string, string>>;
  /** When the version was created, epoch ms. */
  readonly createdOn: number | undefined;
}

/** What a new version carries beside the key. */
export interface NewVersion {
  readonly tags: Readonly<Record<string, string>>;
  readonly contentType: string;
  /** Epoch ms; none when undefined. */
  readonly expiresOn: number | undefined;
}

const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  CredentialUnavailableErrorName,
  AuthenticationErrorName,
  AggregateAuthenticationErrorName,
]);

export interface RotationSecretStoreOptions {
  readonly vaultUrl: string;
  readonly credential: TokenCredential;
  /** Passed to the SecretClient, e.g. `tlsOptions.ca` for a loopback vault. */
  readonly clientOptions?: SecretClientOptions;
  /** Budget for one read or write, retries included, in ms. Default 20000. */
  readonly timeoutMs?: number;
}

/**
 * The rotation's view of Key Vault: the latest version of a secret, uncached (the rotation decides
 * on what is stored now, not on what an instance remembers), and new versions with tags. Failures
 * are thrown as RotationErrors.
 */
export class RotationSecretStore {
  readonly #client: SecretClient;
  readonly #vaultUrl: string;
  readonly #timeoutMs: number;

  constructor(options: RotationSecretStoreOptions) {
    this.#vaultUrl = options.vaultUrl;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.#client = createSecretClient(options.vaultUrl, options.credential, options.clientOptions);
  }

  /** The latest version of `name`, with its tags and creation time. */
  async read(name: string): Promise<StoredKey> {
    const where = this.#where(name);
    let stored: KeyVaultSecret;
    try {
      stored = await withTimeout(this.#timeoutMs, (abortSignal) => this.#client.getSecret(name, { abortSignal }));
    } catch (error) {
      throw this.#readFailure(where, error);
    }
    const { version } = stored.properties;
    if (!stored.value?.trim() || version === undefined) throw secretNotFound(where, 'is empty');
    return {
      value: readKey(stored.value).key,
      version,
      tags: stored.properties.tags ?? {},
      createdOn: stored.properties.createdOn?.getTime(),
    };
  }

  /** Adds a version holding `value`, which becomes the latest; resolves to its version id. */
  async write(name: string, value: string, keyName: string, version: NewVersion): Promise<string> {
    const where = this.#where(name);
    let stored: KeyVaultSecret;
    try {
      stored = await withTimeout(this.#timeoutMs, (abortSignal) =>
        this.#client.setSecret(name, value, {
          abortSignal,
          tags: { ...version.tags },
          contentType: version.contentType,
          ...(version.expiresOn === undefined ? {} : { expiresOn: new Date(version.expiresOn) }),
        }),
      );
    } catch (error) {
      throw this.#writeFailure(where, keyName, 'write a new version of the secret', error);
    }
    return stored.properties.version ?? '';
  }

  /**
   * Proves the identity may change the secret without changing it: the given version's tags are
   * written back as they are (Key Vault has no dry run; no new version, no key sent).
   */
  async touch(name: string, version: string, tags: Readonly<Record<string, string>>): Promise<void> {
    const where = this.#where(name);
    try {
      await withTimeout(this.#timeoutMs, (abortSignal) =>
        this.#client.updateSecretProperties(name, version, { abortSignal, tags: { ...tags } }),
      );
    } catch (error) {
      throw this.#writeFailure(where, 'no key', 'update the secret', error);
    }
  }

  #where(name: string): string {
    return `secret "${name}" in ${this.#vaultUrl}`;
  }

  #readFailure(where: string, error: unknown): RotationError {
    if (error instanceof Error && CREDENTIAL_ERRORS.has(error.name)) return credentialUnavailable('Key Vault', error);
    if (!isRestError(error) || error.statusCode === undefined)
      return keyVaultUnavailable(where, `no answer (${describeError(error)})`, error);
    const { statusCode, code } = error;
    if (statusCode === 404) return secretNotFound(where, `does not exist (${code ?? 'NotFound'})`, error);
    if (statusCode === 403 && /disabled/i.test(error.message)) return secretNotFound(where, 'is disabled', error);
    if (statusCode === 401 || statusCode === 403) {
      return permissionMissing(
        'read the secret',
        `Key Vault answered ${statusCode} (${code ?? 'Forbidden'}) reading ${where}`,
        SECRET_ROLE_FIX,
        error,
      );
    }
    return keyVaultUnavailable(where, `Key Vault answered ${statusCode} (${code ?? 'error'}) after retries`, error);
  }

  /**
   * The SDK's error keeps the request, and a write's request body holds the key: it is described
   * here and never kept as a cause, so no later serialisation of the error can carry the key.
   */
  #writeFailure(where: string, keyName: string, what: string, error: unknown): RotationError {
    if (error instanceof Error && CREDENTIAL_ERRORS.has(error.name))
      return credentialUnavailable('Key Vault', new Error(error.message));
    if (isRestError(error) && (error.statusCode === 401 || error.statusCode === 403)) {
      return permissionMissing(
        what,
        `Key Vault answered ${error.statusCode} (${error.code ?? 'Forbidden'}) writing ${where}${keyName === 'no key' ? '' : `; ${keyName} was regenerated but not stored, and the secret still holds the key in use, which works`}`,
        SECRET_ROLE_FIX,
      );
    }
    const answer =
      isRestError(error) && error.statusCode !== undefined
        ? `Key Vault answered ${error.statusCode} (${error.code ?? 'error'})`
        : `no answer (${describeError(error)})`;
    return secretWriteFailed(where, keyName, answer);
  }
}
