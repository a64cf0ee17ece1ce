import type { TokenCredential } from '@azure/core-auth';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { isLoopbackHost } from '../config/urls.js';
import { SingleFlight } from '../singleFlight.js';
import { VendingError, type ErrorCode } from '../errors.js';
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
  /**
   * After a failed read, that secret is not read again for this long, in ms, timed from the
   * attempt: callers get the same failure, or the value read before. Default 5000.
   */
  readonly retryAfterFailureMs?: number;
  /**
   * Told once per failed read that callers ride out with the value read before, so a vault outage
   * shows in the log although tokens are still vended.
   */
  readonly onKeptAfterFailure?: (secretName: string, failure: VendingError) => void;
}

interface CachedSecret {
  readonly value: string;
  readonly readAt: number;
}

/**
 * Failures that say nothing about the secret itself (no answer, a vault or identity endpoint
 * having a bad moment): the value read before is still the best we have. A secret that was
 * deleted, disabled or whose access was revoked is not served from memory.
 */
const PASSING_FAILURES: ReadonlySet<ErrorCode> = new Set([
  'keyvault_unreachable',
  'keyvault_unavailable',
  'keyvault_credential_unavailable',
]);

/** Reads resource keys from Key Vault, caching each and sharing one read per secret among concurrent callers. */
export class KeyVaultSecretSource implements SecretSource {
  readonly #client: SecretClient;
  readonly #vaultUrl: string;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #retryAfterFailureMs: number;
  readonly #onKeptAfterFailure: ((secretName: string, failure: VendingError) => void) | undefined;
  readonly #cache = new Map<string, CachedSecret>();
  readonly #failures = new Map<string, { readonly error: VendingError; readonly at: number }>();
  readonly #reads = new SingleFlight<string>();

  constructor(options: KeyVaultSecretSourceOptions) {
    this.#vaultUrl = options.vaultUrl;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? 30 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retryAfterFailureMs = options.retryAfterFailureMs ?? 5000;
    this.#onKeptAfterFailure = options.onKeptAfterFailure;
    const loopback = isLoopbackHost(new URL(options.vaultUrl).hostname);
    this.#client = new SecretClient(options.vaultUrl, options.credential, {
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
      // A loopback vault is a local fake whose challenge names vault.azure.net, not 127.0.0.1.
      disableChallengeResourceVerification: loopback,
      ...options.clientOptions,
    });
  }

  /**
   * The cached value while it is younger than `maxAgeMs`; else a read, shared by concurrent callers.
   * When that read fails for a passing reason, the value read before is served (never for
   * `refresh`: the STS has just rejected it); a failed read is not repeated for
   * `retryAfterFailureMs`.
   */
  async getSecret(name: string, options: { refresh?: boolean } = {}): Promise<string> {
    const cached = options.refresh ? undefined : this.#cache.get(name);
    const now = this.#now();
    if (cached !== undefined && now - cached.readAt < this.#maxAgeMs) return cached.value;
    const failure = this.#failures.get(name);
    try {
      if (failure !== undefined && now - failure.at < this.#retryAfterFailureMs) throw failure.error;
      return await this.#reads.run(name, () => this.#read(name));
    } catch (error) {
      if (cached === undefined || !(error instanceof VendingError) || !PASSING_FAILURES.has(error.code)) throw error;
      return cached.value;
    }
  }

  async #read(name: string): Promise<string> {
    let value: string | undefined;
    try {
      const secret = await withTimeout(this.#timeoutMs, (abortSignal) => this.#client.getSecret(name, { abortSignal }));
      value = secret.value;
    } catch (error) {
      throw this.#failed(name, classifyKeyVaultFailure(error, this.#describeRead(name)));
    }
    if (!value) throw this.#failed(name, secretEmpty(this.#describeRead(name)));
    this.#cache.set(name, { value, readAt: this.#now() });
    this.#failures.delete(name);
    return value;
  }

  #failed(name: string, error: VendingError): VendingError {
    this.#failures.set(name, { error, at: this.#now() });
    if (this.#cache.has(name) && PASSING_FAILURES.has(error.code)) this.#onKeptAfterFailure?.(name, error);
    return error;
  }

  #describeRead(secretName: string): SecretRead {
    return { vaultUrl: this.#vaultUrl, secretName, timeoutMs: this.#timeoutMs };
  }
}
