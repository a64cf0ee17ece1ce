import type { TokenCredential } from '@azure/core-auth';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { z } from 'zod';
import { isLoopbackHost } from '../config/urls.js';
import { VendingError } from '../errors.js';
import { SingleFlight } from '../singleFlight.js';

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

/** The shape @azure/core-rest-pipeline gives every HTTP failure, checked rather than assumed. */
const restError = z.object({
  name: z.literal('RestError'),
  statusCode: z.number().optional(),
  code: z.string().optional(),
  message: z.string(),
});

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
    if (!options.refresh && cached && this.#now() - cached.readAt < this.#maxAgeMs) return Promise.resolve(cached.value);
    return this.#reads.run(name, () => this.#read(name));
  }

  async #read(name: string): Promise<string> {
    let value: string | undefined;
    try {
      const secret = await this.#client.getSecret(name, { abortSignal: AbortSignal.timeout(this.#timeoutMs) });
      value = secret.value;
    } catch (error) {
      throw this.#classify(name, error);
    }
    if (!value) {
      throw new VendingError('secret_not_found', `Key Vault secret "${name}" has no value.`, {
        detail: 'The key for this resource is not configured. The operator has been told.',
        diagnosis: `secret "${name}" in ${this.#vaultUrl} is empty`,
        fix: `Set the resource's key as the value of secret "${name}".`,
      });
    }
    this.#cache.set(name, { value, readAt: this.#now() });
    return value;
  }

  #classify(name: string, error: unknown): VendingError {
    const where = `secret "${name}" in ${this.#vaultUrl}`;
    const rest = restError.safeParse(error);
    const errorName = error instanceof Error ? error.name : '';
    if (errorName === 'CredentialUnavailableError' || errorName === 'AuthenticationError' || errorName === 'AggregateAuthenticationError') {
      return new VendingError('keyvault_credential_unavailable', 'No Azure credential to read Key Vault with.', {
        detail: 'The service cannot read its keys right now. The operator has been told.',
        diagnosis: `could not get a token for Key Vault to read ${where}: ${(error as Error).message.split('\n')[0]}`,
        fix: 'In Azure, give the function app a managed identity (and set AZURE_CLIENT_ID for a user-assigned one); locally, run `az login`.',
        cause: error,
      });
    }
    if (!rest.success || rest.data.statusCode === undefined) {
      const timedOut = errorName === 'AbortError';
      return new VendingError('keyvault_unreachable', 'Key Vault could not be reached.', {
        detail: 'The service cannot read its keys right now. Retry shortly.',
        diagnosis: `${timedOut ? `no answer within ${this.#timeoutMs} ms` : 'network failure'} reading ${where}: ${(error as Error).message}`,
        fix: 'Check KEY_VAULT_URI, DNS, and the vault\'s network rules (firewall, private endpoint) for this function app.',
        retryAfterSeconds: 5,
        cause: error,
      });
    }
    const { statusCode, code, message } = rest.data;
    if (statusCode === 404) {
      return new VendingError('secret_not_found', `Key Vault secret "${name}" not found.`, {
        detail: 'The key for this resource is not configured. The operator has been told.',
        diagnosis: `${where} does not exist (${code ?? 'NotFound'})`,
        fix: `Create secret "${name}" holding the resource's key, or correct "secretName" in TOKEN_RESOURCES.`,
        cause: error,
      });
    }
    if (statusCode === 403 && /disabled/i.test(message)) {
      return new VendingError('secret_disabled', `Key Vault secret "${name}" is disabled.`, {
        detail: 'The key for this resource is not available. The operator has been told.',
        diagnosis: `${where} is disabled`,
        fix: `Enable the current version of secret "${name}", or add a new enabled version.`,
        cause: error,
      });
    }
    if (statusCode === 401 || statusCode === 403) {
      return new VendingError('keyvault_forbidden', 'Key Vault refused to give the secret.', {
        detail: 'The service is not allowed to read its keys. The operator has been told.',
        diagnosis: `Key Vault answered ${statusCode} (${code ?? 'Forbidden'}) reading ${where}: ${message.split('\n')[0]}`,
        fix: 'Grant the function app\'s identity the "Key Vault Secrets User" role on the vault (RBAC vaults), or a Get secret access policy; allow its network in the vault firewall.',
        cause: error,
      });
    }
    return new VendingError('keyvault_unavailable', 'Key Vault is unavailable.', {
      detail: 'The service cannot read its keys right now. Retry shortly.',
      diagnosis: `Key Vault answered ${statusCode} (${code ?? 'error'}) reading ${where}`,
      fix: statusCode === 429 ? 'Key Vault is throttling this vault; fewer reads or a longer secret cache help.' : 'A Key Vault service problem; it usually passes. Check Azure status if it persists.',
      retryAfterSeconds: 5,
      cause: error,
    });
  }
}
