import type { TokenCredential } from '@azure/core-auth';
import { isRestError } from '@azure/core-rest-pipeline';
import type { KeyVaultSecret, SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';
import { describeError } from '../errors/serviceError.js';
import { readKey } from '../secrets/keyShape.js';
import { createSecretClient } from '../secrets/keyVaultSecretSource.js';
import { withTimeout } from '../timeout.js';
import { isCredentialError } from './credentialError.js';
import {
  credentialUnavailable,
  keyVaultUnavailable,
  permissionMissing,
  SECRET_ROLE_FIX,
  secretNotFound,
  secretWriteFailed,
  RotationError,
} from './rotationError.js';
import { classifyKeyVaultFailure, denyAssignmentOf, isRetainedDeletion } from '../secrets/keyVaultFailure.js';

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
      throw this.#readFailure(name, error);
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
  async write(name: string, value: string, version: NewVersion): Promise<string> {
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
      throw this.#writeFailure(name, 'write a new version of the secret', error);
    }
    return stored.properties.version ?? '';
  }

  /**
   * Replaces the tags of one version, without a new version or the key being sent. The doctor writes
   * a version's tags back unchanged to prove the identity may change the secret (Key Vault has no
   * dry run); a `--leaked` rotation removes its `regeneratePending` tag this way.
   */
  async updateTags(name: string, version: string, tags: Readonly<Record<string, string>>): Promise<void> {
    try {
      await withTimeout(this.#timeoutMs, (abortSignal) =>
        this.#client.updateSecretProperties(name, version, { abortSignal, tags: { ...tags } }),
      );
    } catch (error) {
      throw this.#writeFailure(name, 'update the secret', error);
    }
  }

  /**
   * What to do about a 401/403 on the secret: a missing role (or access policy) is the rotation's
   * own fix; any other refusal Key Vault names (its firewall, another tenant or audience, a deny
   * assignment) gets that refusal's fix, as the service's reads do (`classifyKeyVaultFailure`).
   */
  #refusalFix(name: string, error: unknown): string {
    // `now` only dates a Retry-After, which a 401/403 does not carry.
    const named = classifyKeyVaultFailure(error, {
      vaultUrl: this.#vaultUrl,
      secretName: name,
      timeoutMs: this.#timeoutMs,
      now: 0,
    });
    if (named.code === 'keyvault_role_missing') return SECRET_ROLE_FIX;
    if (named.code === 'keyvault_forbidden' && denyAssignmentOf(error) === undefined) return SECRET_ROLE_FIX;
    if (named.code === 'keyvault_access_policy_missing') {
      return "The vault uses access policies: give the function's identity the secret permissions Get, List and Set in an access policy (or switch the vault to Azure RBAC and grant Key Vault Secrets Officer on the secret).";
    }
    return named.fix ?? SECRET_ROLE_FIX;
  }

  #where(name: string): string {
    return `secret "${name}" in ${this.#vaultUrl}`;
  }

  #readFailure(name: string, error: unknown): RotationError {
    const where = this.#where(name);
    if (isCredentialError(error)) return credentialUnavailable('Key Vault', error);
    if (!isRestError(error) || error.statusCode === undefined)
      return keyVaultUnavailable(where, `no answer (${describeError(error)})`, error);
    const { statusCode, code } = error;
    if (statusCode === 404) return secretNotFound(where, `does not exist (${code ?? 'NotFound'})`, error);
    if (statusCode === 403 && /disabled/i.test(error.message)) return secretNotFound(where, 'is disabled', error);
    if (statusCode === 401 || statusCode === 403) {
      return permissionMissing(
        'read the secret',
        `Key Vault answered ${statusCode} (${code ?? 'Forbidden'}) reading ${where}`,
        this.#refusalFix(name, error),
        error,
      );
    }
    return keyVaultUnavailable(where, `Key Vault answered ${statusCode} (${code ?? 'error'}) after retries`, error);
  }

  /**
   * The SDK's error keeps the request, and a write's request body holds the key: it is described
   * here and never kept as a cause, so no later serialisation of the error can carry the key.
   */
  #writeFailure(name: string, what: string, error: unknown): RotationError {
    const where = this.#where(name);
    if (isCredentialError(error)) return credentialUnavailable('Key Vault', new Error(error.message));
    if (isRestError(error) && (error.statusCode === 401 || error.statusCode === 403)) {
      return permissionMissing(
        what,
        `Key Vault answered ${error.statusCode} (${error.code ?? 'Forbidden'}) writing ${where}`,
        this.#refusalFix(name, error),
      );
    }
    if (isRetainedDeletion(error)) {
      return new RotationError('rotation_secret_not_found', 'The secret to rotate was deleted.', {
        diagnosis: `writing ${where}: Key Vault answered 409 (${error.code ?? 'Conflict'}): the secret is deleted and retained by soft delete, so no version can be written`,
        fix: 'Recover the secret (`az keyvault secret recover --vault-name <vault> --name <secret>`), which brings back its versions and the key in use; purging it instead would lose the key the service reads.',
      });
    }
    const answer =
      isRestError(error) && error.statusCode !== undefined
        ? `Key Vault answered ${error.statusCode} (${error.code ?? 'error'})`
        : `no answer (${describeError(error)})`;
    return secretWriteFailed(where, answer);
  }
}
