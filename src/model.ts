/**
 * The domain in one place: the clouds and resource kinds the service knows, a configured resource,
 * the validated configuration, and the shapes callers receive. The settings parser produces these;
 * every step of the flow imports them from here, never from the parser.
 *
 * The shapes callers receive are zod schemas, and their types are inferred from them: the handlers
 * encode every answer through its schema, and the OpenAPI document (`contract/openapi.ts`) is
 * generated from the same schemas, so the code, the types and the document cannot disagree.
 * Descriptions given with `.meta()` become the document's descriptions.
 */
import { z } from 'zod';
import type { Schedule } from './config/schedule.js';
import { ERROR_CODES } from './errors.js';

/** Azure clouds with their own STS, Speech and Entra hosts (see `clouds/clouds.ts`). */
export const CLOUD_NAMES = ['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment'] as const;
export const cloudNameSchema = z
  .enum(CLOUD_NAMES)
  .meta({ description: 'The Azure cloud of the resource: public, Azure China (21Vianet) or US Government.' });
export type CloudName = z.output<typeof cloudNameSchema>;

/** `speech` (Speech), `translator` (Translator), `cognitive` (multi-service Azure AI services). */
export const RESOURCE_KINDS = ['speech', 'translator', 'cognitive'] as const;
export const resourceKindSchema = z.enum(RESOURCE_KINDS).meta({
  description: 'The kind of Azure AI resource: Speech, Translator, or a multi-service (Cognitive Services) resource.',
});
export type ResourceKind = z.output<typeof resourceKindSchema>;

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

/** An Azure AI resource whose key the service exchanges; one item of `TOKEN_RESOURCES`, validated. */
export interface TokenResource {
  /** Letters, digits, `-` and `_`; the `{resource}` of `/api/token/{resource}`. Unique case-insensitively. */
  readonly name: string;
  readonly kind: ResourceKind;
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
  /** The Key Vault secret holding the resource's key. */
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
}

/** Who may call: Entra tenant, accepted audiences and where discovery happens. */
export interface AuthConfig {
  readonly tenantId: string;
  readonly audiences: readonly string[];
  /** Origin of the Entra authority, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** The cloud whose v1.0 issuer hosts are accepted. */
  readonly cloud: CloudName;
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
}

// ---- What callers receive -----------------------------------------------------------------------

const resourceNameSchema = z.string().regex(RESOURCE_NAME);
const regionSchema = z.string().min(1).nullable().meta({
  description:
    "The resource's region (`global` for a global Translator); `null` for a custom-subdomain resource: the Speech SDK connects through `endpoints` then.",
});

/** Service URLs a token is used with, by service (`stt`, `tts`, `text`, `base`, …). */
export const clientEndpointsSchema = z.record(z.string().min(1), z.url()).meta({
  description:
    'The service URLs to use the token with, by name. Speech: `stt` and `tts` (the WebSocket hosts or paths the Speech SDK connects to), `sttRest`, `ttsRest`, `voicesList`, and `base` for a custom subdomain. Translator: `text`. Multi-service: `base`, every Speech name and `text`. Clients should keep names they do not know.',
});
export type ClientEndpoints = Readonly<z.output<typeof clientEndpointsSchema>>;

/** Headers a service needs beside the token, by the name of the endpoint in `ClientEndpoints`. */
export const endpointHeadersSchema = z.record(z.string().min(1), z.record(z.string().min(1), z.string())).meta({
  description:
    'Headers to send beside the token, by endpoint name, for the few services that need one: Translator at its global host takes `Ocp-Apim-Subscription-Region` for a regional or multi-service resource. Most endpoints have no entry.',
});
export type EndpointHeaders = Readonly<z.output<typeof endpointHeadersSchema>>;

/** What a caller may know about a resource: nothing secret, no vault or secret name. */
/** What the resources list and a token answer both say about a resource. */
const resourceShape = {
  kind: resourceKindSchema,
  cloud: cloudNameSchema,
  region: regionSchema,
  endpoints: clientEndpointsSchema,
  headers: endpointHeadersSchema,
};

export const resourceSummarySchema = z
  .object({
    name: resourceNameSchema.meta({ description: 'The resource name, as in `/api/token/{resource}`.' }),
    ...resourceShape,
  })
  .meta({
    description: 'A resource this caller may request a token for. Nothing secret: no key, vault or secret name.',
  });
export type ResourceSummary = Readonly<z.output<typeof resourceSummarySchema>>;

/** The answer of `GET /api/resources`. */
export const resourceListSchema = z
  .object({ resources: z.array(resourceSummarySchema) })
  .meta({ description: 'The resources this caller may request, in configuration order.' });
export type ResourceList = Readonly<z.output<typeof resourceListSchema>>;

/** The answer of `GET /api/token/{resource}`. */
export const vendedTokenSchema = z
  .object({
    accessToken: z.string().min(1).meta({
      description:
        'The Azure AI services token: send it as `Authorization: Bearer <accessToken>` (REST) or give it to the Speech SDK as its authorization token. Opaque; valid 10 minutes from issue.',
    }),
    tokenType: z.literal('Bearer'),
    expiresOn: z.iso
      .datetime()
      .meta({ description: "When `accessToken` expires, ISO 8601 in UTC, by the server's clock." }),
    expiresInSeconds: z.number().int().min(0).meta({
      description:
        'Seconds `accessToken` has left, counted by the server when it answered. Cache by this (send time + expiresInSeconds) rather than by `expiresOn`, so a device with a wrong clock still refreshes in time.',
    }),
    resource: resourceNameSchema.meta({ description: 'The resource name the token was asked for.' }),
    ...resourceShape,
  })
  .meta({
    description:
      'A short-lived Azure AI services token with what a client needs to use it. The service hands every caller of a resource the same token and replaces it about 2 minutes before expiry; ask again shortly before it runs out.',
  });
export type VendedToken = Readonly<z.output<typeof vendedTokenSchema>>;

/** The answer of `GET /api/health`. */
export const healthSchema = z
  .object({ status: z.literal('ok') })
  .meta({ description: 'Liveness only: says nothing about configuration or secrets.' });

/** A correlation id: the caller's `x-correlation-id` when it has this shape, else one the service makes. */
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const correlationIdSchema = z.string().regex(CORRELATION_ID_PATTERN).meta({
  description:
    "Identifies the request in the service's log: the caller's `X-Correlation-Id` when it is 1-64 letters, digits or `._:-`, else one the service makes. Quote it when reporting a problem.",
});

/** Every failure code (`errors.ts` `ERROR_CODES`), as callers see it in a problem's `code`. */
export const errorCodeSchema = z.enum(ERROR_CODES).meta({
  description:
    'Why the request failed, as a stable machine-readable code. Branch on this, never on `title` or `detail`.',
});

/** A resource as operators see it (`GET /api/status`): `ok`, `degraded` or `failing`. */
export const RESOURCE_STATES = ['ok', 'degraded', 'failing'] as const;

const instantSchema = z.iso.datetime();

/** The status view of one resource on this instance: what its token cache knows, never the token or the key. */
export const resourceStatusSchema = z
  .object({
    name: resourceNameSchema.meta({ description: 'The resource name, as configured.' }),
    state: z.enum(RESOURCE_STATES).meta({
      description:
        '`ok`: the latest refresh worked (or none was needed yet). `degraded`: refreshes fail, callers still get the cached token. `failing`: refreshes fail and no valid token is left to serve.',
    }),
    expiresOn: instantSchema
      .nullable()
      .meta({ description: 'When the cached token expires; null when this instance never held one.' }),
    lastRefreshAt: instantSchema.nullable().meta({ description: 'The last successful refresh on this instance.' }),
    lastError: z
      .object({
        code: errorCodeSchema,
        at: instantSchema,
      })
      .nullable()
      .meta({ description: 'The last failed refresh, kept after later successes; null when none failed.' }),
    key: z
      .object({
        keyName: z
          .string()
          .max(256)
          .nullable()
          .meta({ description: "The secret's `keyName` tag (`key1`, `key2`); null without one." }),
        createdOn: instantSchema.nullable().meta({ description: 'When the secret version in use was created.' }),
        ageSeconds: z.number().int().min(0).nullable().meta({ description: 'The age of that version, in seconds.' }),
      })
      .nullable()
      .meta({ description: 'The key behind the cached token (never the key itself); null without a token.' }),
    nextRotationAt: instantSchema
      .nullable()
      .meta({ description: 'When the key is next rotated; null while key rotation is off.' }),
  })
  .meta({ description: "One resource on this instance: its token cache's state." });
export type ResourceStatus = Readonly<z.output<typeof resourceStatusSchema>>;

/** The answer of `GET /api/status`. */
export const serviceStatusSchema = z
  .object({
    instance: z.object({
      id: z.string().min(1).max(128).meta({ description: "This instance's id, also its telemetry role instance." }),
      startedAt: instantSchema.meta({ description: 'When this instance started.' }),
      version: z.string().min(1).max(64).meta({ description: 'The app version.' }),
    }),
    time: instantSchema.meta({ description: "The instance's clock when it answered." }),
    resources: z.array(resourceStatusSchema),
  })
  .meta({
    description:
      'What one instance knows about each resource, for operators. Each instance has its own cache: another instance may answer differently. Never a key, a token or a caller identity.',
  });
export type ServiceStatus = Readonly<z.output<typeof serviceStatusSchema>>;

/** Prefix of a problem's `type`: the code follows it. */
export const PROBLEM_TYPE_BASE = 'urn:ai-token-vending:problem:';

/** An `application/problem+json` body (RFC 9457) with the service's own `code` and `correlationId`. */
export const problemSchema = z
  .object({
    type: z
      .string()
      .regex(new RegExp(`^${PROBLEM_TYPE_BASE}[a-z_]+$`))
      .meta({ description: 'A URN naming the problem: `urn:ai-token-vending:problem:<code>`.' }),
    title: z
      .string()
      .min(1)
      .meta({ description: 'A short summary that is the same for every occurrence of the code.' }),
    status: z.number().int().min(400).max(599).meta({ description: 'The HTTP status, repeated.' }),
    detail: z.string().meta({
      description:
        "What went wrong and what to do, safe to show: never a key, token, vault URL or secret name. The operator's log line with the same correlationId has the full diagnosis.",
    }),
    code: errorCodeSchema,
    correlationId: correlationIdSchema,
    retryAfterSeconds: z.number().int().min(0).optional().meta({
      description:
        'On 429 and 5xx: the same figure as the `Retry-After` header, which a page on another origin may not be able to read.',
    }),
  })
  .meta({ description: 'A problem (RFC 9457).' });
export type Problem = Readonly<z.output<typeof problemSchema>>;
