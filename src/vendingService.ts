import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { authorize, visibleResources } from './access/authorization.js';
import { RateLimiter } from './access/rateLimiter.js';
import { CallerAuthenticator, type Caller } from './auth/callerAuthentication.js';
import { TokenCache } from './cache/tokenCache.js';
import { resolveClientEndpoints, type ClientEndpoints } from './clouds/endpoints.js';
import type { CloudName } from './clouds/clouds.js';
import type { Config, TokenResource } from './config/settings.js';
import { isLoopbackHost } from './config/urls.js';
import { ensureVendingError } from './errors.js';
import { consoleSink, Logger } from './log/logger.js';
import { KeyVaultSecretSource, type SecretSource } from './secrets/keyVaultSecretSource.js';
import { createKeyExchange } from './sts/keyExchange.js';
import { StsClient, type StsClientOptions } from './sts/stsClient.js';
import type { ResourceKind } from './clouds/regions.js';

export interface VendedToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresOn: string;
  readonly expiresInSeconds: number;
  readonly resource: string;
  readonly kind: ResourceKind;
  readonly cloud: CloudName;
  readonly region: string | null;
  readonly endpoints: ClientEndpoints;
}

export interface ResourceSummary {
  readonly name: string;
  readonly kind: ResourceKind;
  readonly cloud: CloudName;
  readonly region: string | null;
  readonly endpoints: ClientEndpoints;
}

/** What the service needs from the outside world; tests and the local host swap these at the wire. */
export interface VendingDependencies {
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Used for OIDC discovery and the STS. */
  readonly fetch?: typeof fetch;
  readonly credential?: TokenCredential;
  readonly keyVaultClientOptions?: SecretClientOptions;
  /** Replaces Key Vault entirely (the secret source is one step of the flow, swappable). */
  readonly secrets?: SecretSource;
  readonly stsAttemptTimeoutMs?: number;
  /** Receives background events (refresh failures) that belong to no request. Default: console, as at start-up. */
  readonly logger?: Logger;
}

/** The whole flow of a token request, one step per module: authenticate, authorize, cache, exchange. */
export class VendingService {
  readonly #config: Config;
  readonly #authenticator: CallerAuthenticator;
  readonly #limiter: RateLimiter;
  readonly #cache: TokenCache;
  readonly #now: () => number;

  constructor(config: Config, dependencies: VendingDependencies = {}) {
    this.#config = config;
    this.#now = dependencies.now ?? Date.now;
    this.#authenticator = new CallerAuthenticator({
      ...config.auth,
      now: this.#now,
      ...(dependencies.fetch ? { fetch: dependencies.fetch } : {}),
    });
    this.#limiter = new RateLimiter({ perMinute: config.rateLimitPerMinute, now: this.#now });
    const secrets = createSecretSource(config, dependencies);
    const sts = createStsClient(dependencies);
    const logger = dependencies.logger ?? new Logger(consoleSink);
    this.#cache = new TokenCache({
      refresh: createKeyExchange({ secrets, sts }),
      now: this.#now,
      onBackgroundRefreshError: (resource, error) => {
        const failure = ensureVendingError(error);
        logger.warn('background_refresh_failed', {
          resource: resource.name, code: failure.code, diagnosis: failure.diagnosis, fix: failure.fix,
        });
      },
    });
  }

  authenticate(authorization: string | null): Promise<Caller> {
    return this.#authenticator.authenticate(authorization);
  }

  async token(caller: Caller, resourceName: string): Promise<VendedToken> {
    this.#limiter.take(caller.id);
    const resource = authorize(caller, this.#config.resources, resourceName);
    const cached = await this.#cache.get(resource);
    const { name, ...summary } = summarize(resource);
    return {
      accessToken: cached.token,
      tokenType: 'Bearer',
      expiresOn: new Date(cached.expiresAt).toISOString(),
      expiresInSeconds: Math.max(0, Math.floor((cached.expiresAt - this.#now()) / 1000)),
      resource: name,
      ...summary,
    };
  }

  resources(caller: Caller): ResourceSummary[] {
    return visibleResources(caller, this.#config.resources).map(summarize);
  }

}

/** What a caller may know about a resource: nothing secret, no vault or secret name. */
function summarize(resource: TokenResource): ResourceSummary {
  return {
    name: resource.name,
    kind: resource.kind,
    cloud: resource.cloud,
    region: resource.region,
    endpoints: resolveClientEndpoints(resource),
  };
}

/**
 * A loopback vault can only be a local fake, which accepts any bearer token; anything else gets
 * the real credential chain (managed identity in Azure, `az login` locally).
 */
const loopbackVaultCredential: TokenCredential = {
  getToken: async () => ({ token: 'loopback-vault', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export function createSecretSource(config: Config, dependencies: VendingDependencies): SecretSource {
  return dependencies.secrets ?? new KeyVaultSecretSource({
    vaultUrl: config.keyVaultUri,
    credential: dependencies.credential
      ?? (isLoopbackHost(new URL(config.keyVaultUri).hostname) ? loopbackVaultCredential : new DefaultAzureCredential()),
    ...(dependencies.now ? { now: dependencies.now } : {}),
    ...(dependencies.keyVaultClientOptions ? { clientOptions: dependencies.keyVaultClientOptions } : {}),
  });
}

export function createStsClient(dependencies: VendingDependencies, overrides: StsClientOptions = {}): StsClient {
  return new StsClient({
    ...(dependencies.now ? { now: dependencies.now } : {}),
    ...(dependencies.fetch ? { fetch: dependencies.fetch } : {}),
    ...(dependencies.random ? { random: dependencies.random } : {}),
    ...(dependencies.sleep ? { sleep: dependencies.sleep } : {}),
    ...(dependencies.stsAttemptTimeoutMs ? { attemptTimeoutMs: dependencies.stsAttemptTimeoutMs } : {}),
    ...overrides,
  });
}
