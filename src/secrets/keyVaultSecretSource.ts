import type { TokenCredential } from '@azure/core-auth';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { isLoopbackHost } from '../config/urls.js';
import { SingleFlight } from '../singleFlight.js';
import { withTimeout } from '../timeout.js';
import { classifyKeyVaultFailure, secretEmpty, type SecretRead } from './keyVaultFailure.js';

export interface SecretSource {
  /** The secret's current value; `refresh` bypasses the cache (used after the STS rejects a key). */
  getSecret(name: string, options?: { refresh?: boolean }): Promise<string>;
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
}

interface CachedSecret {
  readonly value: string;
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
  readonly #reads = new SingleFlight<string>();

  constructor(options: KeyVaultSecretSourceOptions) {
    this.#vaultUrl = options.vaultUrl;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? 30 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const loopback = isLoopbackHost(new URL(options.vaultUrl).hostname);
    this.#client = new SecretClient(options.vaultUrl, options.credential, {
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
      // A loopback vault is a local fake whose challenge names vault.azure.net, not 127.0.0.1.
      disableChallengeResourceVerification: loopback,
      ...options.clientOptions,
    });
  }

  getSecret(name: string, options: { refresh?: boolean } = {}): Promise<string> {
    const cached = this.#cache.get(name);
    if (!options.refresh && cached && this.#now() - cached.readAt < this.#maxAgeMs)
      return Promise.resolve(cached.value);
    return this.#reads.run(name, () => this.#read(name));
  }

  async #read(name: string): Promise<string> {
    let value: string | undefined;
    try {
      const secret = await withTimeout(this.#timeoutMs, (abortSignal) => this.#client.getSecret(name, { abortSignal }));
      value = secret.value;
    } catch (error) {
      throw classifyKeyVaultFailure(error, this.#describeRead(name));
    }
    if (!value) throw secretEmpty(this.#describeRead(name));
    this.#cache.set(name, { value, readAt: this.#now() });
    return value;
  }

  #describeRead(secretName: string): SecretRead {
    return { vaultUrl: this.#vaultUrl, secretName, timeoutMs: this.#timeoutMs };
  }
}
