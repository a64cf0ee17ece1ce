/**
 * The domain in one place: the clouds the service knows, a configured resource, and the validated
 * configuration. The settings parser (`config/`) produces these; every step of the flow imports
 * them from here, never from the parser. What callers receive is `contract/answers.ts`.
 */
/** Azure clouds with their own STS, Speech and Entra hosts (see `clouds/clouds.ts`). */
export const CLOUD_NAMES = ['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment'] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];

/** A GUID (tenant, client, subscription ID), as its pattern's source: `8-4-4-4-12` hex digits. */
export const GUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const GUID = new RegExp(`^${GUID_PATTERN}$`, 'i');

/** Whether `value` is a GUID (any case, no braces). */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/**
 * What a resource name may be (`TOKEN_RESOURCES[].name`, the `{resource}` of `/api/token/{resource}`):
 * ASCII letters, digits, `-` and `_`, starting with a letter or digit, at most 63 characters.
 * `TOKEN_RESOURCES` is checked against it at start-up, and every request's `{resource}` before the
 * name is logged, matched or echoed.
 */
export const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/**
 * A resource name as it is compared and logged: ASCII letters in lower case, nothing else changed.
 * Names are case-insensitive in ASCII only; Unicode case folding would let other characters match
 * (the Kelvin sign `\u212A` lower-cases to `k`).
 */
export function canonicalResourceName(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => String.fromCharCode(letter.charCodeAt(0) + 32));
}

/** Service URLs a credential is used with, by service name (`stt`, `tts`, `text`, `base`, …). */
export type ClientEndpoints = Readonly<Record<string, string>>;

/** Headers a service needs beside the credential, by the name of the endpoint in `ClientEndpoints`. */
export type EndpointHeaders = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * A configured resource: one item of `TOKEN_RESOURCES`, validated. These are the fields every kind
 * has; a kind module (`kinds/`) narrows `kind` and may add fields of its own.
 */
export interface TokenResource {
  /** Letters, digits, `-` and `_`; the `{resource}` of `/api/token/{resource}`. Unique case-insensitively. */
  readonly name: string;
  /** The credential kind, by its canonical name (`kinds/registry.ts`): `speech`, `translator`, `cognitive`, … */
  readonly kind: string;
  readonly cloud: CloudName;
  /**
   * The resource's region. `null` only for a custom-subdomain resource behind a private endpoint
   * that was configured without one: every service is then reached through the subdomain.
   */
  readonly region: string | null;
  /**
   * Origin of a custom-subdomain resource, e.g. `https://contoso.cognitiveservices.azure.com`: the
   * key is exchanged there, and the Speech SDK connects there.
   */
  readonly endpoint: string | null;
  /**
   * The custom subdomain is reached through a private endpoint, so the Speech REST APIs are served
   * under it too; without one they stay at the regional hosts (Speech private-link article, "Use
   * the custom domain name without private endpoints").
   */
  readonly privateEndpoint: boolean;
  /**
   * The Key Vault secret holding the resource's key; empty for a resource minted with the app's
   * managed identity (a keyless `openai-realtime`), which then has no `resourceId` either.
   */
  readonly secretName: string;
  /** App role values (`roles` claim); any one grants access. */
  readonly allowedRoles: readonly string[];
  /** Delegated scope values (`scp` claim); any one grants access. */
  readonly allowedScopes: readonly string[];
  /**
   * ARM ID of the resource's Cognitive Services account,
   * `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>`:
   * the key of a resource that has one is rotated (`rotation/`); `null` leaves the key to whoever stores it.
   */
  readonly resourceId: string | null;
  /**
   * `callerLimitPerMinute`: requests per caller per minute for this resource on one instance, on
   * top of `RATE_LIMIT_PER_MINUTE` (a realtime minute costs more than a Speech token); absent when
   * the resource has no limit of its own.
   */
  readonly callerLimitPerMinute?: number;
  /**
   * The fallbacks of a configured resource (`failover`), in order: each a whole resource of the
   * same kind, named `<name>.failover[<i>]`, which serves callers of `name` while the ones before it
   * cannot (`failover/`). Absent or empty: none; a fallback has none of its own.
   */
  readonly failover?: readonly TokenResource[] | undefined;
}

/** A resource and its fallbacks, in the order they serve: the primary first. */
export function membersOf(resource: TokenResource): readonly TokenResource[] {
  return resource.failover === undefined || resource.failover.length === 0
    ? [resource]
    : [resource, ...resource.failover];
}

/** Every configured resource and fallback, each group's primary first: what rotation, the doctor and the self-check go through. */
export function allMembers(resources: readonly TokenResource[]): TokenResource[] {
  return resources.flatMap((resource) => membersOf(resource));
}

/** The name of a resource's fallback number `index` (0 is the first): `speech.failover[0]`, in settings problems, logs and the status view. */
export function failoverMemberName(resource: string, index: number): string {
  return `${resource}.failover[${index}]`;
}
/** What is known about the key behind a credential: never the key itself. */
export interface KeyInUse {
  /** The secret's `keyName` tag (`key1`, `key2`), set by whoever stored it; null without one. */
  readonly keyName: string | null;
  /** When the secret version was created, epoch ms. */
  readonly createdOn: number | undefined;
  /** When the key became the one in use, epoch ms: the `rotatedAt` tag, else `createdOn`; null when neither is known. */
  readonly since: number | null;
}

/** One credential for one resource. */
export interface MintedCredential {
  /** The bearer credential, opaque to the flow; never logged. */
  readonly token: string;
  /** When it was minted, epoch ms (the injected clock). */
  readonly issuedAt: number;
  /** When it stops working, epoch ms. */
  readonly expiresAt: number;
  /** The resource key it was minted with, when it was minted with one. */
  readonly key?: KeyInUse | undefined;
  /** Fields the answer carries beside the standard ones (e.g. a realtime session's model and voice). */
  readonly answer?: Readonly<Record<string, unknown>> | undefined;
}

/** A timer schedule as Azure Functions reads it: NCRONTAB, six fields (seconds first), in UTC. */
export interface Schedule {
  readonly expression: string;
  /** The first run strictly after `ms` (epoch ms), or `undefined` when there is none. */
  nextAfter(ms: number): number | undefined;
}

/** Who may call: Entra tenant, accepted audiences and where discovery happens. */
export interface AuthConfig {
  readonly tenantId: string;
  readonly audiences: readonly string[];
  /** Origin of the Entra authority, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** The cloud whose v1.0 issuer hosts are accepted. */
  readonly cloud: CloudName;
  /**
   * `AUTH_ALLOWED_CLIENT_APPS`: the client applications (`azp`/`appid`, GUIDs in lower case) whose
   * tokens are accepted; empty: any application the tenant consented to.
   */
  readonly allowedClientApps: readonly string[];
}

/**
 * The service's own Azure identity, for Key Vault. In Azure the platform's managed-identity endpoint
 * (`IDENTITY_ENDPOINT`) is used directly, with the user-assigned identity's client ID; elsewhere the
 * developer credential chain (`az login`, environment, ...).
 */
export interface IdentityConfig {
  readonly managedIdentity: boolean;
  /** `AZURE_CLIENT_ID`: the user-assigned identity; absent for a system-assigned one. */
  readonly clientId: string | undefined;
}

/** The two keys of a Cognitive Services account, as the secret's `keyName` tag names them. */
export const KEY_NAMES = ['key1', 'key2'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

/**
 * Added to the secret's maximum age before a replaced key may be regenerated on demand: covers a
 * read in flight and clock skew between the instances and the rotator.
 */
export const ROTATION_MARGIN_MS = 5 * 60_000;

/** Automatic key rotation (`KEY_ROTATION_*`); applies to the resources that have a `resourceId`. */
export interface RotationConfig {
  /** Days between two rotations of a resource's key; 0: no scheduled rotation (the CLI still rotates on demand). */
  readonly periodDays: number;
  /** When the timer checks what is due: NCRONTAB, six fields, UTC (already validated). */
  readonly schedule: Schedule;
  /**
   * Origin of Azure Resource Manager for every resource (`ARM_ENDPOINT`), e.g. a local fake; `null`:
   * each resource's own cloud (`clouds/clouds.ts`). The token audience always follows the cloud.
   */
  readonly armEndpoint: string | null;
  /**
   * The blob service of the app's storage account, where the rotation lease lives
   * (`AzureWebJobsStorage__blobServiceUri`, else `__accountName` in the app's cloud); `null`: none
   * configured, and no rotation can take its lease (`config/leaseStorage.ts`).
   */
  readonly leaseBlobServiceUrl: string | null;
}

/** What operators get: the status view's access and the self-check's schedule. */
export interface OperationsConfig {
  /** `OPERATOR_ROLES`: app role values (`roles` claim) that may read `GET /api/status`; any one grants it. */
  readonly operatorRoles: readonly string[];
  /** `SELF_CHECK_SCHEDULE`: when the self-check timer runs. */
  readonly selfCheckSchedule: Schedule;
}

/**
 * Where telemetry goes (`APPLICATIONINSIGHTS_CONNECTION_STRING`, `..._AUTHENTICATION_STRING`).
 * `invalid` is not a configuration error: the service runs, exports nothing and says why once.
 */
export type TelemetryConfig =
  | { readonly export: 'off' }
  | { readonly export: 'invalid'; readonly problem: string; readonly fix: string }
  | {
      readonly export: 'azure-monitor';
      readonly connectionString: string;
      /** Origin the envelopes are posted to (`/v2.1/track`), for diagnoses. */
      readonly ingestionEndpoint: string;
      /** Entra-authenticated ingestion with this managed identity (client ID, or system-assigned); else the key alone. */
      readonly entra: { readonly clientId: string | undefined } | undefined;
      /** How often metrics are sent, in ms. */
      readonly exportIntervalMs: number;
    };

/** The validated app settings (`config/settings.ts` `loadConfig`). */
export interface Config {
  readonly auth: AuthConfig;
  readonly identity: IdentityConfig;
  /** Origin of the vault, `https://<name>.vault.azure.net`. */
  readonly keyVaultUri: string;
  readonly resources: readonly TokenResource[];
  /** Token requests per caller per minute on one instance; 0 = off. */
  readonly rateLimitPerMinute: number;
  /**
   * How long an instance uses a secret version before reading the secret again, in ms
   * (`SECRET_MAX_AGE_MINUTES`): the longest an instance may still hold a key after it was replaced.
   */
  readonly secretMaxAgeMs: number;
  readonly rotation: RotationConfig;
  readonly operations: OperationsConfig;
  readonly telemetry: TelemetryConfig;
  /** What works but is odd (a normalised endpoint, an undocumented region), logged once at start-up. */
  readonly warnings: readonly ConfigWarning[];
}

/** A start-up warning about a setting (and resource): never a value that could be secret. */
export interface ConfigWarning {
  readonly setting: string;
  readonly resource?: string;
  readonly message: string;
}
