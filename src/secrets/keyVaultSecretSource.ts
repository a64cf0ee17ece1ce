import type { TokenCredential } from '@azure/core-auth';
import { SecretClient, type KeyVaultSecret, type SecretClientOptions } from '@azure/keyvault-secrets';
import { isLoopbackHost } from '../config/urls.js';
import { SingleFlight } from '../singleFlight.js';
import { withTimeout } from '../timeout.js';
import type { Logger } from '../log/logger.js';
import { classifyKeyVaultFailure, secretEmpty, type SecretRead } from './keyVaultFailure.js';
import { readKey } from './keyShape.js';

/** A resource key as read from its secret, with what is known about the version it came from. */
export interface SecretValue {
  /** The key, surrounding whitespace removed (`readKey`). */
  readonly value: string;
  /** What `readKey` trimmed, or `undefined`. */
  readonly trimmed: string | undefined;
  /** The secret version id, when the store has versions. */
  readonly version: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** When the version was created, epoch ms. */
  readonly createdOn: number | undefined;
  /** The version's `exp` attribute, epoch ms: Key Vault still serves it after, the operator asked for less. */
  readonly expiresOn: number | undefined;
  /** The version's `nbf` attribute, epoch ms. */
  readonly notBefore: number | undefined;
}

export interface SecretSource {
  /** The secret's current value; `refresh` bypasses the cache (used after the STS rejects a key). */
  getSecret(name: string, options?: { refresh?: boolean }): Promise<SecretValue>;
}

export interface KeyVaultSecretSourceOptions {
  readonly vaultUrl: string;
  readonly credential: TokenCredential;
  /** Passed to SecretClient; tests give `tlsOptions.ca` for their loopback vault. */
  readonly clientOptions?: SecretClientOptions;
  readonly now?: () => number;
  /**
   * How long a secret is reused before it is read again, in ms. Default 30 minutes: a rotated
   * key is picked up within that time even while the old one still works; an STS 401 refreshes at once.
   */
  readonly maxAgeMs?: number;
  /** Budget for one read, retries included, in ms. Default 10000. */
  readonly timeoutMs?: number;
  /** Told once per secret version about a key stored with whitespace around it, or an expiry date. */
  readonly logger?: Logger;
}

interface CachedSecret {
  readonly secret: SecretValue;
  readonly readAt: number;
}

/** Reads resource keys from Key Vault, caching each and sharing one read per secret among concurrent callers. */
export class KeyVaultSecretSource implements SecretSource {
  readonly #client: SecretClient;
  readonly #vaultUrl: string;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #cache = new Map<string, CachedSecret>();
  readonly #reads = new SingleFlight<SecretValue>();
  readonly #logger: Logger | undefined;
  /** Versions already reported, so a warning is logged once per version, not once per read. */
  readonly #reported = new Set<string>();

  constructor(options: KeyVaultSecretSourceOptions) {
    this.#vaultUrl = options.vaultUrl;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? 30 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#logger = options.logger;
    const loopback = isLoopbackHost(new URL(options.vaultUrl).hostname);
    this.#client = new SecretClient(options.vaultUrl, options.credential, {
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
      // A loopback vault is a local fake whose challenge names vault.azure.net, not 127.0.0.1.
      disableChallengeResourceVerification: loopback,
      ...options.clientOptions,
    });
  }

  getSecret(name: string, options: { refresh?: boolean } = {}): Promise<SecretValue> {
    const cached = this.#cache.get(name);
    if (!options.refresh && cached && this.#now() - cached.readAt < this.#maxAgeMs)
      return Promise.resolve(cached.secret);
    return this.#reads.run(name, () => this.#read(name));
  }

  async #read(name: string): Promise<SecretValue> {
    let stored: KeyVaultSecret;
    try {
      stored = await withTimeout(this.#timeoutMs, (abortSignal) => this.#client.getSecret(name, { abortSignal }));
    } catch (error) {
      throw classifyKeyVaultFailure(error, this.#describeRead(name));
    }
    if (!stored.value?.trim()) throw secretEmpty(this.#describeRead(name));
    const { key, trimmed } = readKey(stored.value);
    const { properties } = stored;
    const secret: SecretValue = {
      value: key,
      trimmed,
      version: properties.version,
      tags: properties.tags ?? {},
      createdOn: properties.createdOn?.getTime(),
      expiresOn: properties.expiresOn?.getTime(),
      notBefore: properties.notBefore?.getTime(),
    };
    this.#reportOnce(name, secret);
    this.#cache.set(name, { secret, readAt: this.#now() });
    return secret;
  }

  /** What an operator should fix about a version that still works: said once per version. */
  #reportOnce(name: string, secret: SecretValue): void {
    const id = `${name}/${secret.version ?? ''}`;
    if (this.#logger === undefined || this.#reported.has(id)) return;
    this.#reported.add(id);
    const fields = { secret: name, version: secret.version };
    if (secret.trimmed !== undefined) {
      this.#logger.warn('secret_trimmed', {
        ...fields,
        trimmed: secret.trimmed,
        fix: `Store the key alone in secret "${name}": the service removed ${secret.trimmed} from around it.`,
      });
    }
    const now = this.#now();
    if (secret.expiresOn !== undefined && secret.expiresOn <= now) {
      this.#logger.warn('secret_expired', {
        ...fields,
        expiresOn: new Date(secret.expiresOn).toISOString(),
        fix: `Key Vault still serves secret "${name}" after its expiry date, so the key is used; add a current version, or extend the expiry if the key is still meant to be used.`,
      });
    }
    if (secret.notBefore !== undefined && secret.notBefore > now) {
      this.#logger.warn('secret_not_yet_valid', {
        ...fields,
        notBefore: new Date(secret.notBefore).toISOString(),
        fix: `Key Vault serves secret "${name}" before its activation date, so the key is used already; clear the activation date if that is intended.`,
      });
    }
  }

  #describeRead(secretName: string): SecretRead {
    return { vaultUrl: this.#vaultUrl, secretName, timeoutMs: this.#timeoutMs };
  }
}
