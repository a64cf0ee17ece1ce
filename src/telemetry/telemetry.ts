/**
 * What the flow tells operators: counters, gauges, histograms and the spans of upstream calls,
 * through one small interface. Without a connection string it is `NO_TELEMETRY`, which does
 * nothing at all. With one, counters and gauges are kept here in plain maps (a token request
 * costs a few map updates, not the SDK's per-call attribute hashing) and read by the backend
 * (`azureMonitor.ts`: the OpenTelemetry SDK and the Azure Monitor exporter) when it exports;
 * histogram points and spans, which only upstream calls make, are handed over as records. The
 * backend loads after the instance has warmed up, off the cold start; records wait in a bounded
 * buffer until then. Nothing here throws into the flow or waits on the network.
 *
 * Upstream calls learn their request from a `RequestCorrelation` passed down explicitly, not from
 * AsyncLocalStorage: its promise hooks would tax every request for the few that call upstream.
 */
import type { ErrorCode } from '../errors/serviceError.js';
import type { Logger } from '../log/logger.js';
import { isGuid } from '../model.js';
import type { RotationCode } from '../rotation/rotationError.js';
import {
  EVENTS,
  METRIC_DEFINITIONS,
  type CounterName,
  type DimensionsOf,
  type GaugeName,
  type HistogramName,
  type MetricName,
  type StatusClass,
  type Upstream,
} from './names.js';

/** What ties an upstream call to the request (or timer run) that caused it. */
export interface RequestCorrelation {
  readonly invocationId: string;
  readonly correlationId: string;
  /** The host's W3C `traceparent` for this invocation, when it gives one (Azure does). */
  readonly traceParent: string | undefined;
}

/** Who is called, for the span: never a URL (a secret name can sit in its path). */
export interface UpstreamTarget {
  readonly method: 'GET' | 'POST';
  readonly host: string;
  /** The configured resource the call is for, when there is one. */
  readonly resource?: string;
}

/** How one upstream call ended. */
export interface UpstreamOutcome {
  /** The HTTP status of the (last) answer, if any came. */
  readonly status?: number | undefined;
  /** Why no answer came (or why it counts as none); wins over `status`. */
  readonly failure?: 'timeout' | 'network' | 'credential' | undefined;
  /** The cause code, when the call failed (a rotation's own, for ARM). */
  readonly code?: ErrorCode | RotationCode | undefined;
}

/** One call to an upstream, timed from `upstreamCall` to `end`. */
export interface UpstreamCall {
  end(outcome: UpstreamOutcome): void;
}

export interface Telemetry {
  /** Whether anything is exported (a connection string is set). */
  readonly exporting: boolean;
  count<N extends CounterName>(name: N, dimensions: DimensionsOf<N>): void;
  /** A value of which each export reports the lowest since the previous one. */
  lowest<N extends GaugeName>(name: N, value: number, dimensions: DimensionsOf<N>): void;
  observe<N extends HistogramName>(name: N, value: number, dimensions: DimensionsOf<N>): void;
  /** Starts timing a call; its span joins `correlation`'s request (or stands alone without one). */
  upstreamCall(upstream: Upstream, target: UpstreamTarget, correlation?: RequestCorrelation): UpstreamCall;
  /** Loads the exporter in the background, if it is not loaded yet. */
  start(): void;
  /** Exports what was recorded so far; resolves when done or failed, never rejects. */
  flush(): Promise<void>;
}

const NO_CALL: UpstreamCall = { end: () => undefined };

/** Telemetry that records nothing: no connection string, or an unusable one. */
export const NO_TELEMETRY: Telemetry = {
  exporting: false,
  count: () => undefined,
  lowest: () => undefined,
  observe: () => undefined,
  upstreamCall: () => NO_CALL,
  start: () => undefined,
  flush: () => Promise.resolve(),
};

/** A histogram point or a finished upstream call, as the backend receives it. */
export type TelemetryRecord =
  | {
      readonly kind: 'histogram';
      readonly name: HistogramName;
      readonly value: number;
      readonly dimensions: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'span';
      readonly upstream: Upstream;
      /** Epoch ms. */
      readonly startTime: number;
      readonly durationMs: number;
      readonly failed: boolean;
      readonly attributes: Readonly<Record<string, string | number>>;
      /** W3C traceparent of the request the call belongs to. */
      readonly parent: string | undefined;
    };

/** One dimension set of a counter or gauge, as kept between exports. */
export interface Tally {
  readonly dimensions: Readonly<Record<string, string>>;
  value: number;
}

/**
 * Counters (running totals, as asynchronous counters report them) and gauges (the lowest value
 * since the last export, cleared by `takeLowest`), by metric and dimension set.
 */
export class Tallies {
  readonly #counters = new Map<MetricName, Map<string, Tally>>();
  readonly #lowest = new Map<MetricName, Map<string, Tally>>();

  add(name: MetricName, dimensions: Readonly<Record<string, string>>): void {
    const tally = this.#entry(this.#counters, name, dimensions, 0);
    tally.value += 1;
  }

  lower(name: MetricName, value: number, dimensions: Readonly<Record<string, string>>): void {
    const tally = this.#entry(this.#lowest, name, dimensions, value);
    if (value < tally.value) tally.value = value;
  }

  counters(name: MetricName): Iterable<Tally> {
    return this.#counters.get(name)?.values() ?? [];
  }

  /** The lowest values since the previous call, which starts a new interval. */
  takeLowest(name: MetricName): Tally[] {
    const taken = [...(this.#lowest.get(name)?.values() ?? [])];
    this.#lowest.get(name)?.clear();
    return taken;
  }

  #entry(
    table: Map<MetricName, Map<string, Tally>>,
    name: MetricName,
    dimensions: Readonly<Record<string, string>>,
    initial: number,
  ): Tally {
    let byKey = table.get(name);
    if (byKey === undefined) {
      byKey = new Map();
      table.set(name, byKey);
    }
    // The definition fixes the dimensions' order, so their values alone make the key.
    let key = '';
    for (const dimension of METRIC_DEFINITIONS[name].dimensions) key += `${dimensions[dimension] ?? ''}\u0000`;
    let tally = byKey.get(key);
    if (tally === undefined) {
      tally = { dimensions: { ...dimensions }, value: initial };
      byKey.set(key, tally);
    }
    return tally;
  }
}

/** Where records go once loaded: the OpenTelemetry SDK and the Azure Monitor exporter. */
export interface TelemetryBackend {
  record(record: TelemetryRecord): void;
  flush(): Promise<void>;
}

export interface BufferedTelemetryOptions {
  /** Loads the backend, which reads `tallies` when it exports; called once, by `start` or `flush`. */
  readonly load: (tallies: Tallies) => Promise<TelemetryBackend>;
  readonly logger: Logger;
  /** Wall clock, epoch ms: span start times. */
  readonly now: () => number;
  /** Monotonic clock in ms: durations. Default `performance.now`. */
  readonly elapsed?: () => number;
  /** Records kept while the backend loads; later ones are dropped. Default 10000. */
  readonly bufferSize?: number;
}

/** The status class of an upstream outcome. */
export function statusClassOf({ status, failure }: UpstreamOutcome): StatusClass {
  if (failure !== undefined) return failure;
  if (status === undefined) return 'network';
  const hundreds = Math.floor(status / 100);
  return hundreds >= 2 && hundreds <= 5 ? (`${hundreds}xx` as StatusClass) : 'network';
}

/** Whether a failure with no answer was a timeout (our abort) or the network. */
export function noAnswer(error: unknown): 'timeout' | 'network' {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
    ? 'timeout'
    : 'network';
}

const TRACE_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * The trace an upstream call joins: the host's invocation trace when it gave one (Azure), so the
 * call sits under the host's request; else one made from the invocation id (a random UUID), so
 * the calls of one request share an operation id that is the invocation id without dashes.
 */
export function parentTraceOf(correlation: RequestCorrelation | undefined): string | undefined {
  if (correlation === undefined) return undefined;
  const given = correlation.traceParent?.trim().toLowerCase();
  if (given !== undefined && TRACE_PARENT.test(given) && !/^00-0{32}-/.test(given) && !/-0{16}-/.test(given))
    return given;
  if (!isGuid(correlation.invocationId)) return undefined;
  const hex = correlation.invocationId.replace(/-/g, '').toLowerCase();
  return `00-${hex}-${hex.slice(16)}-01`;
}

/**
 * Records into a buffer until the backend has loaded, then straight into it. A backend that fails
 * to load turns telemetry off for the process, logged once as `telemetry_disabled`.
 */
export class BufferedTelemetry implements Telemetry {
  readonly exporting = true;
  readonly #options: BufferedTelemetryOptions;
  readonly #elapsed: () => number;
  readonly #tallies = new Tallies();
  #buffer: TelemetryRecord[] | undefined = [];
  #backend: TelemetryBackend | undefined;
  #loading: Promise<void> | undefined;

  constructor(options: BufferedTelemetryOptions) {
    this.#options = options;
    this.#elapsed = options.elapsed ?? (() => performance.now());
  }

  count<N extends CounterName>(name: N, dimensions: DimensionsOf<N>): void {
    this.#tallies.add(name, dimensions);
  }

  lowest<N extends GaugeName>(name: N, value: number, dimensions: DimensionsOf<N>): void {
    this.#tallies.lower(name, value, dimensions);
  }

  observe<N extends HistogramName>(name: N, value: number, dimensions: DimensionsOf<N>): void {
    this.#record({ kind: 'histogram', name, value, dimensions });
  }

  upstreamCall(upstream: Upstream, target: UpstreamTarget, correlation?: RequestCorrelation): UpstreamCall {
    const startTime = this.#options.now();
    const started = this.#elapsed();
    let ended = false;
    return {
      end: (outcome) => {
        if (ended) return;
        ended = true;
        const durationMs = Math.max(0, this.#elapsed() - started);
        const statusClass = statusClassOf(outcome);
        this.observe('upstream_duration_ms', durationMs, { upstream, status_class: statusClass });
        const attributes: Record<string, string | number> = {
          upstream,
          status_class: statusClass,
          'http.request.method': target.method,
          'server.address': target.host,
        };
        if (outcome.status !== undefined) attributes['http.response.status_code'] = outcome.status;
        if (outcome.code !== undefined) attributes.code = outcome.code;
        if (target.resource !== undefined) attributes.resource = target.resource;
        if (correlation !== undefined) {
          attributes.correlation_id = correlation.correlationId;
          attributes.invocation_id = correlation.invocationId;
        }
        this.#record({
          kind: 'span',
          upstream,
          startTime,
          durationMs,
          failed: outcome.code !== undefined,
          attributes,
          parent: parentTraceOf(correlation),
        });
      },
    };
  }

  start(): void {
    this.#loading ??= this.#options.load(this.#tallies).then(
      (backend) => {
        const waiting = this.#buffer ?? [];
        this.#backend = backend;
        this.#buffer = undefined;
        for (const record of waiting) this.#deliver(record);
      },
      (error: unknown) => {
        this.#buffer = undefined;
        this.#options.logger.error(EVENTS.telemetryDisabled, {
          reason: `the Azure Monitor exporter could not be started: ${error instanceof Error ? error.message : String(error)}`,
          fix: 'Check APPLICATIONINSIGHTS_CONNECTION_STRING; the service runs on without exporting telemetry.',
        });
      },
    );
  }

  async flush(): Promise<void> {
    this.start();
    await this.#loading;
    await this.#backend?.flush();
  }

  #record(record: TelemetryRecord): void {
    if (this.#backend !== undefined) this.#deliver(record);
    else if (this.#buffer !== undefined && this.#buffer.length < (this.#options.bufferSize ?? 10_000))
      this.#buffer.push(record);
  }

  /** The backend is the SDK's: whatever it throws stays out of the flow. */
  #deliver(record: TelemetryRecord): void {
    try {
      this.#backend?.record(record);
    } catch {
      // Measurements are best effort; the export itself reports its failures.
    }
  }
}
