/**
 * The seam between the shared flow and the ways a credential is minted. Everything a caller goes
 * through (authentication, authorization, rate limits, errors, telemetry, the doctor's frame) is
 * shared; what differs by kind is declared once, in one module per kind under `kinds/`, and the
 * flow picks the module by the resource's `kind` (`kinds/registry.ts`). A new kind is one module
 * implementing `CredentialKind`, registered in `BUILT_IN_KINDS`.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { ErrorCode } from '../errors/catalog.js';
import type { Logger } from '../log/logger.js';
import type { UpstreamAnswer, UpstreamAttempt, UpstreamOutcome } from '../http/upstream.js';
import type { ClientEndpoints, CloudName, EndpointHeaders, MintedCredential, TokenResource } from '../model.js';
import type { RotationFactsContext } from '../rotation/rotationFacts.js';
import type { SecretSource } from '../secrets/keyVaultSecretSource.js';
import type { RequestCorrelation, Telemetry } from '../telemetry/telemetry.js';
import type { Finding, ProbeOptions } from './finding.js';

/** What a kind mints and probes with: the instance's shared steps, built once by the composition root. */
export interface KindSteps {
  /** Clock, in ms since the epoch. */
  readonly now: () => number;
  /** For the kind's upstream (STS, Azure OpenAI) and the services its credential opens. */
  readonly fetch: typeof fetch;
  /** The app's own Azure identity (managed identity in Azure). */
  readonly credential: TokenCredential;
  /** Resource keys, cached (Key Vault). */
  readonly secrets: SecretSource;
  readonly telemetry: Telemetry;
  readonly logger: Logger;
  /** Key rotation and its settings, for the doctor's rotation facts. */
  readonly rotationFacts: RotationFactsContext;
  /** [0, 1) source for backoff jitter. */
  readonly random?: (() => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** One upstream attempt's limit, in ms (the kind's own default when unset). */
  readonly attemptTimeoutMs?: number | undefined;
}

/** Where a caller uses a resource's credential: the answer's `region`, `endpoints` and `headers`. */
export interface ClientView {
  /** The region to show callers; null when every service is reached through the custom subdomain. */
  readonly region: string | null;
  readonly endpoints: ClientEndpoints;
  readonly headers: EndpointHeaders;
}

/** The fields every kind shares, as the settings parser read them, before the kind adds its own. */
export interface CommonResourceFields {
  readonly name: string;
  /** The canonical kind name (aliases resolved). */
  readonly kind: string;
  readonly cloud: CloudName;
  readonly allowedRoles: readonly string[];
  readonly allowedScopes: readonly string[];
  readonly resourceId: string | null;
  /** Requests per caller per minute for this resource, beside RATE_LIMIT_PER_MINUTE; absent: none of its own. */
  readonly callerLimitPerMinute?: number;
}

/** How a kind's start-up checks report: `fail` refuses the resource, `warn` is logged at start-up. */
export interface ResourceChecks {
  fail(message: string): void;
  warn(message: string): void;
}

/**
 * One credential kind. Methods (not function properties) so that a module typed for its own
 * resource shape registers as a `CredentialKind<TokenResource>`: the registry only ever hands a
 * module resources it parsed itself.
 */
export interface CredentialKind<R extends TokenResource = TokenResource> {
  /** The `kind` values this module serves, canonical lower-case names. */
  readonly names: readonly string[];
  /** Other spellings accepted for `kind` (matched case-insensitively, e.g. Azure's account kinds), each to its canonical name. */
  readonly aliases: Readonly<Record<string, string>>;
  /**
   * `kind` values (lower case) that name a resource this module cannot serve although it looks
   * close, each with the message that says why and what to use instead (Azure's `OpenAI` for the
   * STS kinds). Optional.
   */
  readonly refusedNames?: Readonly<Record<string, string>>;
  /** `TOKEN_RESOURCES` fields this kind reads beyond `CommonResourceFields`. */
  readonly fields: readonly string[];
  /**
   * Whether one credential may serve every authorized caller of a resource: `true` puts it in the
   * token cache (one refresh in flight per resource); `false` mints one per request, never shared.
   */
  readonly sharedBetweenCallers: boolean;
  /** The upstream whose calls the telemetry times (`telemetry/names.ts` `UPSTREAMS`). */
  readonly upstream: string;

  /** The kind's own fields and start-up checks; `undefined` when `checks.fail` was called. */
  parseResource(
    common: CommonResourceFields,
    raw: Readonly<Record<string, unknown>>,
    checks: ResourceChecks,
  ): R | undefined;
  /** Where callers use the credential. */
  clientView(resource: R): ClientView;
  /**
   * Judges one upstream answer: a credential, or a typed failure and whether another attempt may
   * help. Pure, table-tested; the kind's minting uses it.
   */
  classifyAnswer(answer: UpstreamAnswer, attempt: UpstreamAttempt): UpstreamOutcome;
  /** What minting and probing need, built once per instance from the shared steps. */
  bind(steps: KindSteps): BoundKind<R>;
}

/** How a resource's latest mints went on this instance (kinds whose credentials are not shared). */
export interface MintState {
  /** The last mint that worked, epoch ms. */
  readonly lastMintAt: number | undefined;
  /** The last mint that failed, kept after later successes. */
  readonly lastError: { readonly code: ErrorCode; readonly at: number } | undefined;
  /** Whether the latest mint failed. */
  readonly failing: boolean;
}

/** How one credential is minted. */
export interface MintOptions {
  /**
   * Another member of the resource's failover group can serve (`failover/`): make one attempt at
   * the upstream, no retries, so the caller is served by the next member instead of waiting out a
   * backoff. A kind that does not retry may ignore it.
   */
  readonly oneAttempt?: boolean;
}

/** A kind bound to an instance's steps. */
export interface BoundKind<R extends TokenResource = TokenResource> {
  /** One credential. Throws `VendingError` with the kind's codes. */
  mint(resource: R, correlation?: RequestCorrelation, options?: MintOptions): Promise<MintedCredential>;
  /** The doctor's check of one resource, stopping at the first failure; never throws for a finding. */
  probe(resource: R, options?: ProbeOptions): Promise<Finding>;
  /**
   * For kinds that mint per request (nothing in the token cache): how this instance's latest mints
   * of the resource went, for the status view.
   */
  state?(resource: R): MintState;
  /**
   * For kinds minting with a resource key: whether the upstream accepts `key` (`false` for a
   * rejection; throws `rotation_repair_unverified` when it cannot say). Key rotation uses it to
   * repair a secret. Absent for kinds that hold no key.
   */
  checkKey?(resource: R, key: string): Promise<boolean>;
}
