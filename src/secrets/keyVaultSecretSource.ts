import type { TokenCredential } from '@azure/core-auth';
import { isRestError } from '@azure/core-rest-pipeline';
import { SecretClient, type KeyVaultSecret, type SecretClientOptions } from '@azure/keyvault-secrets';
import { isLoopbackHost } from '../http/urls.js';
import { VendingError, type ErrorCode } from '../errors/serviceError.js';
import { deferLongRetryAfter } from '../http/retryAfterPolicy.js';
import { SingleFlight } from '../singleFlight.js';
import { noAnswer, type RequestCorrelation, type Telemetry } from '../telemetry/telemetry.js';
import { withTimeout } from '../timeout.js';
import type { Logger } from '../log/logger.js';
import { redactError, redactSecrets } from '../log/redact.js';
import { classifyKeyVaultFailure, DEFERRED_RETRY_AFTER, secretEmpty, type SecretRead } from './keyVaultFailure.js';
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

/** How a secret is read: `refresh` bypasses the cache; `correlation` names the request a vault read is for. */
export interface SecretReadOptions {
  readonly refresh?: boolean;
  readonly correlation?: RequestCorrelation | undefined;
}

export interface SecretSource {
  /** The secret's current value; `refresh` bypasses the cache (used after the STS rejects a key). */
  getSecret(name: string, options?: SecretReadOptions): Promise<SecretValue>;
}

export interface KeyVaultSecretSourceOptions {
  readonly vaultUrl: string;
  readonly credential: TokenCredential;
  /** Passed to SecretClient; tests give `tlsOptions.ca` for their loopback vault. */
  readonly clientOptions?: SecretClientOptions;
  readonly now?: () => number;
  /**
   * How long a secret is reused before it is read again, in ms (`SECRET_MAX_AGE_MINUTES`). Default
   * 60 minutes: a rotated key is picked up within that time even while the old one still works (the
   * rotation never regenerates a key sooner); an STS 401 refreshes at once.
   */
  readonly maxAgeMs?: number;
  /** Budget for one read, retries included, in ms. Default 10000. */
  readonly timeoutMs?: number;
  /**
   * After a failed read, that secret is not read again for this long, in ms, timed from the
   * attempt (longer when the vault said `Retry-After`): callers get the same failure, or the value
   * read before. Default 5000.
   */
  readonly retryAfterFailureMs?: number;
  /**
   * Told once per secret version about a key stored with whitespace around it or an expiry date,
   * and once per failed read that callers ride out with the value read before (so a vault outage
   * shows in the log although tokens are still vended).
   */
  readonly logger?: Logger;
  /** Times each read that reaches the vault (not the ones served from memory). */
  readonly telemetry?: Pick<Telemetry, 'upstreamCall'>;
}

interface CachedSecret {
  readonly secret: SecretValue;
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
  'keyvault_throttled',
  'keyvault_credential_unavailable',
  // A proxy's certificate on the way says nothing about the secret either.
  'tls_untrusted',
]);

/** The longest `Retry-After` the client waits out inside one read, in ms; a longer one is reported. */
const MAX_RETRY_AFTER_WAIT_MS = 2000;

/**
 * The service's Key Vault client: few, short retries (a caller is waiting), a long `Retry-After`
 * reported rather than waited out, and the challenge's resource check off for a loopback vault
 * only, a local fake whose challenge names vault.azure.net. `clientOptions` (e.g. `tlsOptions.ca`
 * for that fake) override the defaults.
 */
export function createSecretClient(
  vaultUrl: string,
  credential: TokenCredential,
  clientOptions: SecretClientOptions = {},
): SecretClient {
  return new SecretClient(vaultUrl, credential, {
    retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    additionalPolicies: [
      { policy: deferLongRetryAfter(MAX_RETRY_AFTER_WAIT_MS, DEFERRED_RETRY_AFTER), position: 'perRetry' },
    ],
    disableChallengeResourceVerification: isLoopbackHost(new URL(vaultUrl).hostname),
    ...clientOptions,
  });
}

/** Reads resource keys from Key Vault, caching each and sharing one read per secret among concurrent callers. */
export class KeyVaultSecretSource implements SecretSource {
  readonly #client: SecretClient;
  readonly #vaultUrl: string;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #cache = new Map<string, CachedSecret>();
  readonly #retryAfterFailureMs: number;
  readonly #failures = new Map<string, { readonly error: VendingError; readonly at: number }>();
  readonly #reads = new SingleFlight<SecretValue>();
  readonly #logger: Logger | undefined;
  readonly #telemetry: Pick<Telemetry, 'upstreamCall'> | undefined;
  /** Versions already reported, so a warning is logged once per version, not once per read. */
  readonly #reported = new Set<string>();

  constructor(options: KeyVaultSecretSourceOptions) {
    this.#vaultUrl = options.vaultUrl;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? 60 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retryAfterFailureMs = options.retryAfterFailureMs ?? 5000;
    this.#logger = options.logger;
    this.#telemetry = options.telemetry;
    this.#client = createSecretClient(options.vaultUrl, options.credential, options.clientOptions);
  }

  /**
   * The cached value while it is younger than `maxAgeMs`; else a read, shared by concurrent callers.
   * When that read fails for a passing reason, the value read before is served (never for
   * `refresh`: the STS has just rejected it); a failed read is not repeated for
   * `retryAfterFailureMs`, or the vault's `Retry-After` when that is longer.
   */
  async getSecret(name: string, options: SecretReadOptions = {}): Promise<SecretValue> {
    const cached = options.refresh ? undefined : this.#cache.get(name);
    const now = this.#now();
    if (cached !== undefined && now - cached.readAt < this.#maxAgeMs) return cached.secret;
    const failure = this.#failures.get(name);
    try {
      if (failure !== undefined && now - failure.at < this.#holdFailureMs(failure.error)) throw failure.error;
      return await this.#reads.run(name, () => this.#read(name, options.correlation));
    } catch (error) {
      if (cached === undefined || !(error instanceof VendingError) || !PASSING_FAILURES.has(error.code)) throw error;
      return cached.secret;
    }
  }

  #holdFailureMs(error: VendingError): number {
    return Math.max(this.#retryAfterFailureMs, (error.retryAfterSeconds ?? 0) * 1000);
  }

  async #read(name: string, correlation: RequestCorrelation | undefined): Promise<SecretValue> {
    let stored: KeyVaultSecret;
    const call = this.#telemetry?.upstreamCall(
      'keyvault',
      { method: 'GET', host: new URL(this.#vaultUrl).host },
      correlation,
    );
    try {
      stored = await withTimeout(this.#timeoutMs, (abortSignal) => this.#client.getSecret(name, { abortSignal }));
      call?.end({ status: 200 });
    } catch (error) {
      // The vault's message may quote a key (the value read before, or any other): redacted.
      const known = this.#cache.get(name)?.secret.value;
      const failure = redactError(classifyKeyVaultFailure(error, this.#describeRead(name)), (text) =>
        redactSecrets(text, known === undefined ? [] : [known]),
      );
      const status = isRestError(error) ? error.statusCode : undefined;
      call?.end({
        status,
        failure:
          failure.code === 'keyvault_credential_unavailable'
            ? 'credential'
            : status === undefined
              ? noAnswer(error)
              : undefined,
        code: failure.code,
      });
      throw this.#failed(name, failure);
    }
    if (!stored.value?.trim()) throw this.#failed(name, secretEmpty(this.#describeRead(name)));
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
    this.#failures.delete(name);
    return secret;
  }

  #failed(name: string, error: VendingError): VendingError {
    this.#failures.set(name, { error, at: this.#now() });
    if (this.#cache.has(name) && PASSING_FAILURES.has(error.code)) {
      this.#logger?.warn('secret_read_failed_kept_cached', {
        secret: name,
        code: error.code,
        diagnosis: error.diagnosis,
        fix: error.fix,
      });
    }
    return error;
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
    return { vaultUrl: this.#vaultUrl, secretName, timeoutMs: this.#timeoutMs, now: this.#now() };
  }
}
