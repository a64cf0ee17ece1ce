/**
 * The shapes callers receive, as zod schemas with their types inferred from them. The OpenAPI
 * document (`contract/openapi.ts`) is generated from these schemas, and the tests check every
 * answer against it, so the code, the types and the document cannot disagree. Descriptions given
 * with `.meta()` become the document's descriptions.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../errors/catalog.js';
import { CORRELATION_ID_PATTERN } from '../http/headers.js';
import { PROBLEM_TYPE_BASE } from '../http/problem.js';
import { BUILT_IN_KIND_NAMES } from '../kinds/registry.js';
import { CLOUD_NAMES, RESOURCE_NAME } from '../model.js';

export const cloudNameSchema = z
  .enum(CLOUD_NAMES)
  .meta({ description: 'The Azure cloud of the resource: public, Azure China (21Vianet) or US Government.' });

export const resourceKindSchema = z
  .string()
  .min(1)
  .meta({
    description: `The kind of credential and resource: ${BUILT_IN_KIND_NAMES.map((kind) => `\`${kind}\``).join(', ')}. Kinds are added over time: a client should keep working with one it does not know.`,
    examples: [...BUILT_IN_KIND_NAMES],
  });

const resourceNameSchema = z.string().regex(RESOURCE_NAME);
const regionSchema = z.string().min(1).nullable().meta({
  description:
    "The resource's region (`global` for a global Translator); `null` for a custom-subdomain resource: the Speech SDK connects through `endpoints` then.",
});

/** Service URLs a token is used with, by service (`stt`, `tts`, `text`, `base`, …). */
export const clientEndpointsSchema = z.record(z.string().min(1), z.url()).meta({
  description:
    'The service URLs to use the token with, by name. Speech: `stt` and `tts` (the WebSocket hosts or paths the Speech SDK connects to), `sttRest`, `ttsRest`, `voicesList`, `avatarRelay` (the ICE relay of the TTS avatar token: `GET` with the token as bearer answers `{ Urls, Username, Password }`), and `base` for a custom subdomain. Translator: `text`. Multi-service: `base`, every Speech name and `text` (not behind a private endpoint: Translator takes no token there). GPT Realtime: `webrtc` (`{endpoint}/openai/v1/realtime/calls?webrtcfilter=on`, where the SDP offer goes). Clients should keep names they do not know.',
});

/** Headers a service needs beside the token, by the name of the endpoint in `ClientEndpoints`. */
export const endpointHeadersSchema = z.record(z.string().min(1), z.record(z.string().min(1), z.string())).meta({
  description:
    'Headers to send beside the token, by endpoint name, for the few services that need one: Translator at its global host takes `Ocp-Apim-Subscription-Region` for a regional or multi-service resource. Most endpoints have no entry.',
});

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

/** What an `openai-realtime` answer says of the session its key opens. */
const realtimeSessionSchema = z
  .object({
    model: z.string().min(1).meta({ description: 'The deployment the key opens.' }),
    voice: z
      .string()
      .nullable()
      .meta({ description: "The session's output voice; null when Azure's default applies." }),
  })
  .meta({
    description:
      '`openai-realtime` only: the session the key opens, as the operator configured it. Never its instructions or tools; the caller cannot change it through this API.',
  });

/** The answer of `GET /api/token/{resource}`. */
export const vendedTokenSchema = z
  .object({
    accessToken: z.string().min(1).meta({
      description:
        'The Azure AI services token: send it as `Authorization: Bearer <accessToken>` (REST) or give it to the Speech SDK as its authorization token. Opaque; valid 10 minutes from issue. For `openai-realtime`: a one-minute ephemeral key, for one WebRTC connection, sent as `Authorization: Bearer <accessToken>` with the SDP offer to `endpoints.webrtc`.',
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
    session: realtimeSessionSchema.optional(),
  })
  .meta({
    description:
      'A short-lived Azure AI services token with what a client needs to use it. The service hands every caller of a resource the same token and replaces it about 2 minutes before expiry; ask again shortly before it runs out. For `openai-realtime` every request gets a key of its own: ask for one per connection.',
  });
export type VendedToken = Readonly<z.output<typeof vendedTokenSchema>>;

/** The answer of `GET /api/health`. */
export const healthSchema = z
  .object({ status: z.literal('ok') })
  .meta({ description: 'Liveness only: says nothing about configuration or secrets.' });

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

/** A failover member's name: the resource's own, or `<resource>.failover[<i>]` for its fallback number i. */
const memberNameSchema = z
  .string()
  .regex(new RegExp(`${RESOURCE_NAME.source.slice(0, -1)}(?:\\.failover\\[\\d{1,3}\\])?$`))
  .meta({ description: 'The member: the resource itself (its name), or its fallback number i, `<name>.failover[i]`.' });

/** A member of a resource's failover group on this instance: where it is, and its health. */
const failoverMemberStatusSchema = z
  .object({
    member: memberNameSchema,
    cloud: cloudNameSchema,
    region: z
      .string()
      .min(1)
      .nullable()
      .meta({ description: "The member's region; null for a custom subdomain alone." }),
    state: z.enum(['healthy', 'failing']).meta({
      description:
        '`healthy`: it serves when the members before it cannot. `failing`: its last attempt failed; requests pass it by and it is probed in the background.',
    }),
    failingSince: instantSchema.nullable().meta({ description: 'When it started failing; null while healthy.' }),
    nextProbeAt: instantSchema.nullable().meta({
      description:
        'The earliest moment of its next background probe (the next request or self-check after it starts one); null while healthy.',
    }),
    lastError: z
      .object({ code: errorCodeSchema, at: instantSchema })
      .nullable()
      .meta({ description: 'Its last failure, kept after it recovers; null when none failed.' }),
    expiresOn: instantSchema
      .nullable()
      .meta({ description: 'When its cached token expires (shared credentials); null when it holds none.' }),
  })
  .meta({ description: 'One member of a failover group, never its key, secret name or token.' });

/** Which member serves a resource with fallbacks, and each member's health. */
const failoverStatusSchema = z
  .object({
    serving: memberNameSchema.nullable().meta({
      description:
        'The member the next request gets its credential from: the resource itself while it works, else its first healthy fallback; null while none can serve.',
    }),
    members: z
      .array(failoverMemberStatusSchema)
      .meta({ description: 'The resource first, then its fallbacks in order.' }),
  })
  .meta({ description: 'For a resource with `failover` in TOKEN_RESOURCES: who serves, and every member.' });

/** The status view of one resource on this instance: what its token cache knows, never the token or the key. */
export const resourceStatusSchema = z
  .object({
    name: resourceNameSchema.meta({ description: 'The resource name, as configured.' }),
    state: z.enum(RESOURCE_STATES).meta({
      description:
        '`ok`: the latest refresh worked (or none was needed yet). `degraded`: refreshes fail, callers still get the cached token. `failing`: refreshes fail and no valid token is left to serve. For `openai-realtime`: `ok` or `failing`, by the latest mint. With fallbacks: `degraded` while a fallback serves, `failing` while no member can.',
    }),
    expiresOn: instantSchema.nullable().meta({
      description:
        'When the cached token expires; null when this instance never held one, and always for a kind that mints per request (`openai-realtime`: nothing is cached).',
    }),
    lastRefreshAt: instantSchema.nullable().meta({
      description:
        'The last successful refresh on this instance; for `openai-realtime`, the last key minted (a request or the self-check).',
    }),
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
    failover: failoverStatusSchema.optional(),
  })
  .meta({
    description:
      "One resource on this instance: its token cache's state (the resource's own, not its fallbacks'), and with fallbacks which member serves.",
  });
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
