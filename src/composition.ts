import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelineOptions } from '@azure/core-rest-pipeline';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { RateLimiter } from './access/rateLimiter.js';
import { CallerAuthenticator } from './auth/callerAuthentication.js';
import { TokenCache } from './cache/tokenCache.js';
import { API_VERSION } from './contract/openapi.js';
import { ConfigurationError, formatProblem, loadConfig, type Environment } from './config/settings.js';
import { describeError, ensureVendingError, VendingError } from './errors/serviceError.js';
import { Failover } from './failover/failover.js';
import type { ProbeBackoff } from './failover/memberHealth.js';
import type { BoundKind, CredentialKind, KindSteps, MintOptions } from './kinds/kind.js';
import { KindRegistry } from './kinds/registry.js';
import { consoleSink, Logger, type LogSink } from './log/logger.js';
import type { Config, TokenResource } from './model.js';
import type { Rotation } from './rotation/keyRotation.js';
import type { LeaseClientOptions } from './rotation/rotationLease.js';
import type { SecretSource } from './secrets/keyVaultSecretSource.js';
import { createServiceCredential } from './serviceCredential.js';
import { createJobs, type ScheduledJob } from './services/jobs.js';
import { createStatusService, type StatusService } from './services/statusService.js';
import { createTokenService, type TokenService } from './services/tokenService.js';
import { warmUp } from './services/warmUp.js';
import type { AzureMonitorOptions } from './telemetry/azureMonitor.js';
import { EVENTS, METRIC_DEFINITIONS } from './telemetry/names.js';
import { BufferedTelemetry, NO_TELEMETRY, type Telemetry } from './telemetry/telemetry.js';

/**
 * What the parts need from the outside world. Every field is optional: the defaults are the real
 * ones (system clock, global fetch, the app's managed identity); tests swap them at the wire.
 */
export interface Dependencies {
  /** Clock, in ms since the epoch. */
  readonly now?: () => number;
  /** [0, 1) source for backoff jitter. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Used for OIDC discovery and the STS. */
  readonly fetch?: typeof fetch;
  /** For Key Vault. Default: the managed identity in Azure, `DefaultAzureCredential` elsewhere. */
  readonly credential?: TokenCredential;
  /** Passed to the `SecretClient`s (reads, and the rotation's writes), e.g. `tlsOptions.ca` for a loopback vault. */
  readonly keyVaultClientOptions?: SecretClientOptions;
  /** Passed to the ARM client's HTTP pipeline, e.g. `tlsOptions.ca` for a loopback ARM, `retryOptions`. */
  readonly armClientOptions?: PipelineOptions;
  /** Passed to the rotation lease's Blob Storage pipeline, e.g. `tlsOptions.ca` for a loopback fake, `retryOptions`. */
  readonly blobClientOptions?: LeaseClientOptions;
  /** Replaces Key Vault entirely (the secret source is one step of the flow, swappable). */
  readonly secrets?: SecretSource;
  /** One STS attempt's limit, in ms. Default 5000. */
  readonly stsAttemptTimeoutMs?: number;
  /** Receives background events (refresh failures) that belong to no request. Default: console. */
  readonly logger?: Logger;
  /** Monotonic clock in ms, for durations. Default `performance.now`. */
  readonly elapsed?: () => number;
  /** This instance's id in the status view and telemetry. Default: a random UUID per process. */
  readonly instanceId?: string;
  /** Telemetry export: the metric interval, and options for the exporters' HTTP client (a loopback fake's CA). */
  readonly telemetryExport?: Pick<AzureMonitorOptions, 'exportIntervalMs' | 'clientOptions'>;
  /** The credential kinds resources may name. Default: the built-in ones (`kinds/registry.ts`). */
  readonly kinds?: readonly CredentialKind[];
  /** When a failed failover member is probed again. Default: from 4 s, doubling, at most a minute. */
  readonly failoverBackoff?: ProbeBackoff;
}

/** This running copy of the app, as operators see it. */
export interface Instance {
  readonly id: string;
  /** When the parts were composed, epoch ms. */
  readonly startedAt: number;
  /** The app's version (package.json). */
  readonly version: string;
}

/**
 * Every step of the flow, built once per instance from the configuration: the composition root's
 * own, and the doctor's. Routes and timers never see it; they get the narrow services below.
 */
export interface Parts {
  readonly config: Config;
  readonly now: () => number;
  readonly logger: Logger;
  /** The app's own Azure identity (Key Vault, ARM). */
  readonly credential: TokenCredential;
  readonly authenticator: CallerAuthenticator;
  readonly limiter: RateLimiter;
  readonly secrets: SecretSource;
  /** The credential kinds, by name. */
  readonly kinds: KindRegistry;
  /** A resource's kind, bound to this instance's steps: how it mints and probes. */
  readonly bound: (resource: TokenResource) => BoundKind;
  /** Credentials shared between callers, one refresh in flight per resource (and per failover member). */
  readonly cache: TokenCache;
  /** The resources with fallbacks: which member serves, each member's health. */
  readonly failover: Failover;
  /** Key rotation (ARM and Key Vault writes), for the rotation timer, `npm run rotate` and the doctor. */
  readonly rotation: Rotation;
  readonly instance: Instance;
  /** Metrics and upstream spans; does nothing without a connection string. */
  readonly telemetry: Telemetry;
}

/**
 * The composition root: the only place that decides which implementation each step gets. The
 * services, the doctor and the timers receive their parts from here; none builds its own.
 */
export function composeParts(config: Config, dependencies: Dependencies = {}): Parts {
  const now = dependencies.now ?? Date.now;
  const logger = dependencies.logger ?? new Logger(consoleSink);
  // Read at the first request, not here: touching globalThis.fetch loads Node's HTTP client
  // (undici), which the import of the app does not otherwise need.
  const fetch: typeof globalThis.fetch = dependencies.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const instance: Instance = { id: dependencies.instanceId ?? randomUUID(), startedAt: now(), version: API_VERSION };
  const credential = dependencies.credential ?? createServiceCredential(config.identity);
  const telemetry = composeTelemetry(config, { logger, now, credential, instance, dependencies });
  const authenticator = new CallerAuthenticator({
    ...config.auth,
    now,
    fetch,
    onSigningKeysRefreshFailure: (failure) => {
      logger.warn('signing_keys_refresh_failed', { code: failure.code, diagnosis: failure.diagnosis });
    },
    telemetry,
  });
  const limiter = new RateLimiter({ perMinute: config.rateLimitPerMinute, now });
  const secrets =
    dependencies.secrets ??
    loadOnFirstUse(async () => {
      const { KeyVaultSecretSource } = await import('./secrets/keyVaultSecretSource.js');
      return new KeyVaultSecretSource({
        vaultUrl: config.keyVaultUri,
        credential,
        now,
        logger,
        maxAgeMs: config.secretMaxAgeMs,
        telemetry,
        ...(dependencies.keyVaultClientOptions === undefined
          ? {}
          : { clientOptions: dependencies.keyVaultClientOptions }),
      });
    });
  const rotation = loadRotationOnFirstUse(async () => {
    const [{ KeyRotation }, { AccountKeysClient }, { RotationSecretStore }, lease] = await Promise.all([
      import('./rotation/keyRotation.js'),
      import('./rotation/accountKeys.js'),
      import('./rotation/rotationSecret.js'),
      import('./rotation/rotationLease.js'),
    ]);
    const blobServiceUrl = config.rotation.leaseBlobServiceUrl;
    return new KeyRotation({
      config,
      now,
      logger,
      accounts: new AccountKeysClient({
        credential,
        armEndpoint: config.rotation.armEndpoint,
        telemetry,
        ...(dependencies.armClientOptions === undefined ? {} : { pipelineOptions: dependencies.armClientOptions }),
      }),
      store: new RotationSecretStore({
        vaultUrl: config.keyVaultUri,
        credential,
        ...(dependencies.keyVaultClientOptions === undefined
          ? {}
          : { clientOptions: dependencies.keyVaultClientOptions }),
      }),
      leases:
        blobServiceUrl === null
          ? lease.NO_LEASE_STORAGE
          : new lease.BlobRotationLeases({
              blobServiceUrl,
              credential,
              now,
              ...(dependencies.blobClientOptions === undefined
                ? {}
                : { clientOptions: dependencies.blobClientOptions }),
            }),
      checkKey: (resource, key) => {
        const kind = bound(resource);
        if (kind.checkKey === undefined) throw new Error(`credential kind "${resource.kind}" holds no key to check`);
        return kind.checkKey(resource, key);
      },
    });
  });
  const kinds = new KindRegistry(dependencies.kinds);
  const steps: KindSteps = {
    now,
    fetch,
    credential,
    secrets,
    telemetry,
    logger,
    rotationFacts: {
      now,
      logger,
      rotation,
      periodDays: config.rotation.periodDays,
      keyVaultUri: config.keyVaultUri,
      leaseConfigured: config.rotation.leaseBlobServiceUrl !== null,
    },
    random: dependencies.random,
    sleep: dependencies.sleep,
    attemptTimeoutMs: dependencies.stsAttemptTimeoutMs,
  };
  const boundKinds = new Map(kinds.kinds.map((kind) => [kind, kind.bind(steps)]));
  const bound = (resource: TokenResource): BoundKind => {
    const kind = boundKinds.get(kinds.of(resource));
    if (kind === undefined) throw new Error(`no credential kind "${resource.kind}" is registered`);
    return kind;
  };
  // A member another one follows tries once: the next member is a better retry than a backoff.
  const mintOptions = (resource: TokenResource): MintOptions | undefined =>
    failover.hasNext(resource) ? ONE_ATTEMPT : undefined;
  const cache = new TokenCache({
    refresh: (resource, correlation) => bound(resource).mint(resource, correlation, mintOptions(resource)),
    now,
    telemetry,
    onBackgroundRefreshError: (resource, error) => {
      const failure = ensureVendingError(error);
      logger.warn(EVENTS.backgroundRefreshFailed, {
        resource: resource.name,
        code: failure.code,
        upstreamCode: failure.upstreamCode,
        diagnosis: failure.diagnosis,
        fix: failure.fix,
      });
    },
  });
  const shared = (resource: TokenResource) => kinds.of(resource).sharedBetweenCallers;
  const failover = new Failover(config.resources, {
    now,
    random: dependencies.random,
    obtain: (member, correlation, probe) =>
      shared(member)
        ? cache.get(member, correlation, { servableOnFailure: false, probe })
        : bound(member).mint(member, correlation, mintOptions(member)),
    held: (member, fresh) => (shared(member) ? cache.peek(member, { fresh }) : undefined),
    logger,
    telemetry,
    backoff: dependencies.failoverBackoff,
  });
  return {
    config,
    now,
    logger,
    credential,
    authenticator,
    limiter,
    secrets,
    kinds,
    bound,
    cache,
    failover,
    rotation,
    instance,
    telemetry,
  };
}

const ONE_ATTEMPT: MintOptions = { oneAttempt: true };

/**
 * What the app serves, each face as narrow as its user: the routes' token and status services, the
 * timers' jobs, the rotation for `npm run rotate`, and the app's own start-up. With an invalid
 * configuration every service answers `configuration_invalid` and there are no jobs, so no caller
 * of these checks whether the settings were valid.
 */
export interface Services {
  readonly tokens: TokenService;
  readonly status: StatusService;
  readonly jobs: readonly ScheduledJob[];
  /** Warms the caches (never rejects), then starts the telemetry export. */
  readonly start: () => Promise<void>;
  /** Why the settings are invalid; `undefined` when they are valid. */
  readonly configurationError: ConfigurationError | undefined;
}

/** Validates the settings and composes the services; never throws for a configuration problem. */
export function createServices(env: Environment, dependencies: Dependencies = {}): Services {
  let config: Config;
  try {
    config = loadConfig(env, new KindRegistry(dependencies.kinds));
  } catch (error) {
    if (error instanceof ConfigurationError) return refusingServices(error);
    throw error;
  }
  return composeServices(composeParts(config, dependencies));
}

/** The services over an instance's parts; says the configuration's warnings once. */
export function composeServices(parts: Parts): Services {
  for (const warning of parts.config.warnings) {
    parts.logger.warn('configuration_warning', {
      setting: warning.setting,
      resource: warning.resource,
      problem: warning.message,
    });
  }
  return {
    tokens: createTokenService(parts),
    status: createStatusService(parts),
    jobs: createJobs(parts),
    start: async () => {
      await warmUp(parts);
      // The exporter is a large part of the bundle: parsed once the first callers' work is done.
      parts.telemetry.start();
    },
    configurationError: undefined,
  };
}

/** Every configuration problem as its own log line, so each one is searchable in the function logs. */
export function logConfigurationError(error: ConfigurationError, sink: LogSink): void {
  const logger = new Logger(sink);
  for (const problem of error.problems) {
    logger.error('configuration_invalid', {
      setting: problem.setting,
      resource: problem.resource,
      problem: formatProblem(problem),
    });
  }
}

/** Services that answer `configuration_invalid` (503) while the settings are invalid. */
function refusingServices(error: ConfigurationError): Services {
  const refuse = (): never => {
    throw notConfigured(error);
  };
  const refuseAsync = () => Promise.reject(notConfigured(error));
  return {
    tokens: {
      resourceName: refuse,
      authenticate: refuseAsync,
      vend: refuseAsync,
      resources: refuse,
      countRequest: () => undefined,
    },
    status: { authenticate: refuseAsync, status: refuse },
    jobs: [],
    start: () => Promise.resolve(),
    configurationError: error,
  };
}

function notConfigured(error: ConfigurationError): VendingError {
  return new VendingError('configuration_invalid', 'The service configuration is invalid.', {
    detail: 'The service is not configured correctly. The operator can find the problems in the function logs.',
    diagnosis: `invalid configuration (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}); they were logged at start-up as configuration_invalid`,
    fix: 'Fix the app settings listed in the configuration_invalid log lines and restart the app.',
    retryAfterSeconds: 60,
  });
}

/** The rotation, loaded like the secret source: its ARM and Key Vault clients stay off the app's import path. */
function loadRotationOnFirstUse(load: () => Promise<Rotation>): Rotation {
  let rotation: Promise<Rotation> | undefined;
  return {
    async run(options) {
      rotation ??= load();
      return (await rotation).run(options);
    },
    async checkPermissions(resource, version) {
      rotation ??= load();
      return (await rotation).checkPermissions(resource, version);
    },
  };
}

/**
 * Telemetry as the settings ask: none without a connection string; none, said once, with an
 * unusable one; else the Azure Monitor exporter, loaded on `start()` (after the warm-up), sending
 * with the app's own identity, or with the one `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` names.
 */
function composeTelemetry(
  config: Config,
  context: {
    readonly logger: Logger;
    readonly now: () => number;
    readonly credential: TokenCredential;
    readonly instance: Instance;
    readonly dependencies: Dependencies;
  },
): Telemetry {
  const { logger, now, credential, instance, dependencies } = context;
  const settings = config.telemetry;
  if (settings.export === 'off') return NO_TELEMETRY;
  if (settings.export === 'invalid') {
    logger.warn(EVENTS.telemetryDisabled, { reason: settings.problem, fix: settings.fix });
    return NO_TELEMETRY;
  }
  const { entra } = settings;
  const sendingCredential =
    entra === undefined
      ? undefined
      : entra.clientId === undefined || entra.clientId === config.identity.clientId
        ? credential
        : createServiceCredential({ managedIdentity: config.identity.managedIdentity, clientId: entra.clientId });
  return new BufferedTelemetry({
    logger,
    now,
    ...(dependencies.elapsed === undefined ? {} : { elapsed: dependencies.elapsed }),
    load: async (tallies) => {
      const { startAzureMonitor } = await import('./telemetry/azureMonitor.js');
      return startAzureMonitor({
        metrics: METRIC_DEFINITIONS,
        exportFailedEvent: EVENTS.telemetryExportFailed,
        tallies,
        connectionString: settings.connectionString,
        ingestionEndpoint: settings.ingestionEndpoint,
        credential: sendingCredential,
        instance,
        logger,
        describeError,
        exportIntervalMs: settings.exportIntervalMs,
        ...dependencies.telemetryExport,
      });
    },
  });
}

/**
 * A secret source whose Key Vault client, and the Azure SDK behind it, loads on first use: off the
 * import path of the app, so an instance registers its functions before that code is even parsed.
 */
function loadOnFirstUse(load: () => Promise<SecretSource>): SecretSource {
  let source: Promise<SecretSource> | undefined;
  return {
    async getSecret(name, options) {
      source ??= load();
      return (await source).getSecret(name, options);
    },
  };
}
