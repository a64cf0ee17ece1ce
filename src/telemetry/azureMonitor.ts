/**
 * The telemetry backend: the OpenTelemetry SDK with the Azure Monitor exporter, sending metrics and
 * upstream spans to Application Insights (`POST {IngestionEndpoint}/v2.1/track`) with the app's
 * managed identity. Loaded with `import()` after the instance has warmed up: the SDK and the
 * exporter are a large part of the bundle, and no caller should wait for them to be parsed.
 * It imports only types from the app, and is handed the names it needs: a value shared with the
 * start-up code would make the bundler split one more chunk off the start-up path.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AzureMonitorMetricExporter, AzureMonitorTraceExporter } from '@azure/monitor-opentelemetry-exporter';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Histogram } from '@opentelemetry/api';
import { ExportResultCode, parseTraceParent, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../log/logger.js';
import type { METRIC_DEFINITIONS, MetricName } from './names.js';
import type { Tallies, TelemetryBackend, TelemetryRecord } from './telemetry.js';

export interface AzureMonitorOptions {
  /** The metrics to create (`names.ts`). */
  readonly metrics: typeof METRIC_DEFINITIONS;
  /** The event an export failure is logged as. */
  readonly exportFailedEvent: string;
  /** Counters and gauges kept by the app, read at each export. */
  readonly tallies: Tallies;
  readonly connectionString: string;
  /** For diagnoses: where envelopes go. */
  readonly ingestionEndpoint: string;
  /** Entra-authenticated ingestion; without it the instrumentation key alone (refused when local auth is off). */
  readonly credential: TokenCredential | undefined;
  readonly instance: { readonly id: string; readonly version: string };
  readonly logger: Logger;
  /** `errors/serviceError.ts` `describeError`, passed in: this chunk imports nothing but types from the app. */
  readonly describeError: (error: unknown) => string;
  /** How often metrics are sent, in ms. Default 60000. */
  readonly exportIntervalMs?: number;
  /** Passed to the exporters' HTTP client: `tlsOptions` for a loopback fake, `retryOptions`. */
  readonly clientOptions?: {
    readonly tlsOptions?: { readonly ca?: string };
    readonly retryOptions?: { readonly maxRetries?: number };
  };
}

/** What the last export request got back, for the one line that says why exports fail. */
type LastAnswer = { readonly status: number } | { readonly error: unknown } | undefined;

/** The fix for an export failure, by what ingestion answered. */
function exportFailure(answer: LastAnswer, options: AzureMonitorOptions): { diagnosis: string; fix: string } {
  const where = `${options.ingestionEndpoint}/v2.1/track`;
  if (answer !== undefined && 'status' in answer) {
    if (answer.status === 401 || answer.status === 403)
      return {
        diagnosis: `Application Insights ingestion at ${where} answered ${answer.status}`,
        fix: options.credential
          ? "Grant the app's managed identity the Monitoring Metrics Publisher role on the Application Insights resource (and check the ClientId in APPLICATIONINSIGHTS_AUTHENTICATION_STRING)."
          : 'The resource takes Entra-authenticated telemetry only: set APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD;ClientId=<identity client ID> and grant that identity Monitoring Metrics Publisher.',
      };
    return {
      diagnosis: `Application Insights ingestion at ${where} answered ${answer.status}`,
      fix:
        answer.status === 400
          ? "Check the InstrumentationKey in APPLICATIONINSIGHTS_CONNECTION_STRING against the resource's connection string."
          : 'Ingestion refused or throttled the batch; it usually passes. Check the Application Insights resource (daily cap, status) if it persists.',
    };
  }
  const error = answer?.error;
  if (error instanceof Error && /credential|ManagedIdentity|authenticat/i.test(`${error.name} ${error.message}`))
    return {
      diagnosis: `no token for Application Insights ingestion: ${options.describeError(error)}`,
      fix: 'Check the managed identity named in APPLICATIONINSIGHTS_AUTHENTICATION_STRING (ClientId) is assigned to the app.',
    };
  return {
    diagnosis: `Application Insights ingestion at ${where} could not be reached${error === undefined ? '' : `: ${options.describeError(error)}`}`,
    fix: 'Check the IngestionEndpoint in APPLICATIONINSIGHTS_CONNECTION_STRING and outbound networking to it.',
  };
}

/** Starts the SDK and the exporters. Throws when the exporter refuses the settings. */
export function startAzureMonitor(options: AzureMonitorOptions): TelemetryBackend {
  // The exporter decides on statsbeat (its own usage metrics, sent to Microsoft's resources, and an
  // Azure IMDS probe outside Azure) from this variable only, read in its constructor. The app sends
  // nothing but its own telemetry to its own resource.
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT ??= 'true';

  // The exporter reports a retriable failure (401, 403, 429, 5xx, no connection) as a success
  // once it has handed the batch to offline storage, which is off here: what ingestion answered is
  // read off the wire instead, and the first failure is logged with its fix.
  let reported = false;
  const report = (answer: LastAnswer) => {
    if (reported) return;
    reported = true;
    options.logger.warn(options.exportFailedEvent, { ...exportFailure(answer, options) });
  };
  const observeAnswers: PipelinePolicy = {
    name: 'telemetryExportOutcome',
    async sendRequest(request, next) {
      try {
        const response = await next(request);
        if (response.status !== 200) report({ status: response.status });
        return response;
      } catch (error) {
        report({ error });
        throw error;
      }
    },
  };
  const reportFailed = (result: ExportResult) => {
    if (result.code !== ExportResultCode.SUCCESS)
      report(result.error === undefined ? undefined : { error: result.error });
  };

  const exporterOptions = {
    connectionString: options.connectionString,
    ...(options.credential === undefined ? {} : { credential: options.credential }),
    // Failed batches are dropped rather than written to disk: a Functions instance's disk is
    // neither kept nor shared, and telemetry must never fill it.
    disableOfflineStorage: true,
    additionalPolicies: [{ policy: observeAnswers, position: 'perRetry' as const }],
    ...(options.clientOptions?.tlsOptions === undefined ? {} : { tlsOptions: options.clientOptions.tlsOptions }),
    ...(options.clientOptions?.retryOptions === undefined ? {} : { retryOptions: options.clientOptions.retryOptions }),
  };
  const metricExporter = new AzureMonitorMetricExporter(exporterOptions);
  const spanExporter = new AzureMonitorTraceExporter(exporterOptions);

  const resource = resourceFromAttributes({
    'service.name': 'ai-token-vending',
    'service.instance.id': options.instance.id,
    'service.version': options.instance.version,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: reportingMetricExporter(metricExporter, reportFailed),
    exportIntervalMillis: options.exportIntervalMs ?? 60_000,
  });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const tracerProvider = new BasicTracerProvider({
    resource,
    // Upstream spans are few (one per call that reaches an upstream, none on a cache hit), and
    // each is an answer to "why was this slow": kept whatever the host's sampling flag says.
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(reportingSpanExporter(spanExporter, reportFailed))],
  });
  const meter = meterProvider.getMeter('ai-token-vending', options.instance.version);
  const tracer = tracerProvider.getTracer('ai-token-vending', options.instance.version);

  // Counters and gauges are observed from the app's tallies at export time (running totals, which
  // the exporter turns into per-interval deltas); histogram points are recorded as they come.
  const histograms = new Map<MetricName, Histogram>();
  for (const name of Object.keys(options.metrics) as MetricName[]) {
    const { instrument, description } = options.metrics[name];
    if (instrument === 'histogram') histograms.set(name, meter.createHistogram(name, { description }));
    else if (instrument === 'counter')
      meter.createObservableCounter(name, { description }).addCallback((result) => {
        for (const tally of options.tallies.counters(name)) result.observe(tally.value, tally.dimensions);
      });
    else
      meter.createObservableGauge(name, { description }).addCallback((result) => {
        for (const tally of options.tallies.takeLowest(name)) result.observe(tally.value, tally.dimensions);
      });
  }

  const span = (record: Extract<TelemetryRecord, { kind: 'span' }>) => {
    const parentContext = record.parent === undefined ? null : parseTraceParent(record.parent);
    const started = tracer.startSpan(
      record.upstream,
      { kind: SpanKind.CLIENT, startTime: record.startTime, attributes: record.attributes },
      parentContext === null ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parentContext),
    );
    if (record.failed)
      started.setStatus({ code: SpanStatusCode.ERROR, message: String(record.attributes.code ?? 'failed') });
    started.end(record.startTime + record.durationMs);
  };

  return {
    record(record) {
      if (record.kind === 'span') {
        span(record);
        return;
      }
      histograms.get(record.name)?.record(record.value, record.dimensions);
    },
    async flush() {
      await Promise.allSettled([meterProvider.forceFlush(), tracerProvider.forceFlush()]);
    },
  };
}

/** The exporter, telling `report` how each export went. */
function reportingMetricExporter(
  inner: AzureMonitorMetricExporter,
  report: (result: ExportResult) => void,
): PushMetricExporter {
  return {
    export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void) {
      void inner.export(metrics, (result) => {
        report(result);
        resultCallback(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => inner.selectAggregationTemporality(type),
  };
}

function reportingSpanExporter(inner: AzureMonitorTraceExporter, report: (result: ExportResult) => void): SpanExporter {
  return {
    export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void) {
      void inner.export(spans, (result) => {
        report(result);
        resultCallback(result);
      });
    },
    shutdown: () => inner.shutdown(),
  };
}
