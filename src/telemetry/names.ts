/**
 * The names operators query: metrics (Application Insights `customMetrics`), the spans of upstream
 * calls (`dependencies`) and the log events the alerts and the workbook read (`traces`). They are
 * part of the contract: the Bicep in infra/ queries them, and `test/infra/monitoring.test.ts` fails
 * when a query names anything that is not listed here. Dimensions never carry a caller's identity,
 * a token or a key: only configured resource names, codes and fixed values.
 */
import { ERROR_CODES } from '../errors/serviceError.js';

/** The upstream services the app calls; each call is a span and a point of `upstream_duration_ms`. */
export const UPSTREAMS = ['discovery', 'jwks', 'keyvault', 'sts', 'arm', 'openai'] as const;
export type Upstream = (typeof UPSTREAMS)[number];

/** How an upstream call ended: the answer's status class, or no answer (timed out, no connection, no credential). */
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'timeout', 'network', 'credential'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** The `resource` of a token request for a name that is not configured (or not yet known): never what the caller typed. */
export const UNKNOWN_RESOURCE = '(unknown)';

/** A token request's `outcome`: `ok`, or the error code it was answered with. */
export const OUTCOMES = ['ok', ...ERROR_CODES] as const;

/** Every metric, with its instrument and dimensions. Units are in the names, as Application Insights shows no unit. */
export const METRIC_DEFINITIONS = {
  token_requests: {
    instrument: 'counter',
    description: 'Token requests answered, by configured resource and outcome (ok or the error code).',
    dimensions: ['resource', 'outcome'],
  },
  token_remaining_lifetime_seconds: {
    instrument: 'gauge',
    description: 'The fewest seconds a token served since the previous export had left when it was handed out.',
    dimensions: ['resource'],
  },
  token_cache_lookups: {
    instrument: 'counter',
    description: 'Token cache lookups: hit (served without waiting) or miss (waited for a refresh, or its failure).',
    dimensions: ['resource', 'result'],
  },
  token_refreshes: {
    instrument: 'counter',
    description:
      'Refreshes of a cached token (Key Vault then STS), foreground or background, by outcome: ok or the error code.',
    dimensions: ['resource', 'mode', 'outcome'],
  },
  credential_mints: {
    instrument: 'counter',
    description:
      'Credentials minted per request (kinds never shared between callers, e.g. GPT Realtime keys), by resource and outcome: ok or the error code.',
    dimensions: ['resource', 'outcome'],
  },
  upstream_duration_ms: {
    instrument: 'histogram',
    description: 'Duration of one call to an upstream, by upstream and status class.',
    dimensions: ['upstream', 'status_class'],
  },
  self_checks: {
    instrument: 'counter',
    description:
      "Self-check results per resource: healthy true or false, with the doctor's cause code (none when healthy).",
    dimensions: ['resource', 'healthy', 'code'],
  },
  key_rotations: {
    instrument: 'counter',
    description: 'Key rotations by outcome: rotated, or failed with its code.',
    dimensions: ['resource', 'outcome', 'code'],
  },
  failover_serving_member: {
    instrument: 'gauge',
    description:
      'For a resource with fallbacks: the place of the member that served (0 the resource itself, 1 its failover[0], ...), the lowest since the previous export; also reported by the self-check.',
    dimensions: ['resource', 'member'],
  },
} as const satisfies Readonly<
  Record<
    string,
    {
      readonly instrument: 'counter' | 'gauge' | 'histogram';
      readonly description: string;
      readonly dimensions: readonly string[];
    }
  >
>;

type Definitions = typeof METRIC_DEFINITIONS;
export type MetricName = keyof Definitions;
export type CounterName = { [N in MetricName]: Definitions[N]['instrument'] extends 'counter' ? N : never }[MetricName];
export type GaugeName = { [N in MetricName]: Definitions[N]['instrument'] extends 'gauge' ? N : never }[MetricName];
export type HistogramName = Exclude<MetricName, CounterName | GaugeName>;
/** The dimensions a metric is recorded with: exactly its own, all strings. */
export type DimensionsOf<N extends MetricName> = Readonly<Record<Definitions[N]['dimensions'][number], string>>;

export const METRIC_NAMES = Object.keys(METRIC_DEFINITIONS) as MetricName[];

/** The value `code` takes when there is none (a healthy check, a rotation that worked). */
export const NO_CODE = 'none';

/** Values of the fixed dimensions, so a query comparing against anything else fails the contract test. */
export const DIMENSION_VALUES = {
  result: ['hit', 'miss'],
  mode: ['foreground', 'background'],
  healthy: ['true', 'false'],
  rotation: ['rotated', 'repaired', 'failed'],
} as const;

/** Attributes of an upstream span (`dependencies.customDimensions`), beside the HTTP ones Application Insights maps itself. */
export const SPAN_ATTRIBUTES = [
  'upstream',
  'status_class',
  'code',
  'resource',
  'correlation_id',
  'invocation_id',
] as const;

/**
 * Log events (the `event` field of a JSON log line, `traces` in Application Insights) that
 * operators alert on or read in the workbook.
 */
export const EVENTS = {
  /** One per resource per self-check run: resource, healthy, code, fix. */
  resourceHealth: 'resource_health',
  /** A key rotation failed: resource, code, diagnosis, fix. Logged by the rotation (rotation/keyRotation.ts). */
  keyRotationFailed: 'key_rotation_failed',
  /** A key was rotated: resource, keyName. */
  keyRotated: 'key_rotated',
  /**
   * A `--leaked` rotation stopped between storing the new key and regenerating the suspected leaked
   * one, which still works: resource, code (`rotation_leak_pending`), diagnosis, fix. Logged by the
   * doctor (and so the self-check) and by the rotation that finishes it (rotation/keyRotation.ts).
   */
  keyRotationIncomplete: 'key_rotation_incomplete',
  /** Telemetry is not exported, and why (an unusable connection string, the exporter failing to load). Once. */
  telemetryDisabled: 'telemetry_disabled',
  /** Exporting to Application Insights failed, with the fix. Once per process. */
  telemetryExportFailed: 'telemetry_export_failed',
  /** A refresh in the background failed while callers were served the cached token. */
  backgroundRefreshFailed: 'background_refresh_failed',
  /**
   * Another member of a failover group serves a resource's callers from now on: resource, member
   * (the one serving now), previous, reason and, when moving away from a failed member, its code,
   * diagnosis and fix. Once per change (`failover/failover.ts`).
   */
  failoverServingChanged: 'failover_serving_changed',
  /** A failover member stopped producing credentials: resource, member, code, diagnosis, fix, nextProbeAt. Once per outage. */
  failoverMemberFailed: 'failover_member_failed',
  /** A failed failover member produces credentials again: resource, member, failedForSeconds. */
  failoverMemberRecovered: 'failover_member_recovered',
} as const;
export const EVENT_NAMES: readonly string[] = Object.values(EVENTS);

/** Fields of those log lines that queries read (`parse_json(message)`), beside the event's own name. */
export const EVENT_FIELDS = ['event', 'resource', 'healthy', 'code', 'fix', 'member', 'previous', 'reason'] as const;
