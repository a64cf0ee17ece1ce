/**
 * The exporter sends the app's telemetry to the app's ingestion endpoint and to nothing else: no
 * statsbeat, and no poll of Microsoft's OneSettings control plane
 * (`settings.sdk.monitor.azure.com`, which exporter 1.0.0-beta.45 and later call 5-15 s after
 * start and hourly after, with no setting to turn it off). Timers are faked, so two hours of the
 * exporter's schedule pass in a moment; every HTTP request it starts is recorded before any DNS
 * lookup, so a host that cannot be reached here is seen all the same.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { afterEach, expect, it, vi } from 'vitest';
import { describeError } from '../../src/errors/serviceError.js';
import { Logger } from '../../src/log/logger.js';
import { startAzureMonitor } from '../../src/telemetry/azureMonitor.js';
import { METRIC_DEFINITIONS } from '../../src/telemetry/names.js';
import { Tallies } from '../../src/telemetry/telemetry.js';

const requested: string[] = [];
const onRequest = (message: unknown) => {
  const { request } = message as { request: ClientRequest };
  requested.push(request.host);
};

afterEach(() => {
  unsubscribe('http.client.request.start', onRequest);
  vi.useRealTimers();
});

it('sends to the ingestion endpoint only, over two hours of its schedule', async () => {
  subscribe('http.client.request.start', onRequest);
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const tallies = new Tallies();
  const backend = startAzureMonitor({
    metrics: METRIC_DEFINITIONS,
    exportFailedEvent: 'telemetry_export_failed',
    tallies,
    // Nothing listens on port 9: each export fails at once, which is all this test needs.
    connectionString: 'InstrumentationKey=00000000-0000-4000-8000-000000000001;IngestionEndpoint=https://127.0.0.1:9/',
    ingestionEndpoint: 'https://127.0.0.1:9',
    credential: undefined,
    instance: { id: 'test', version: '0.0.0' },
    logger: new Logger(() => undefined),
    describeError,
    exportIntervalMs: 60_000,
    clientOptions: { retryOptions: { maxRetries: 0 } },
  });
  backend.record({ kind: 'histogram', name: 'upstream_duration_ms', value: 1, dimensions: { upstream: 'sts' } });

  for (let minute = 0; minute < 120; minute++) await vi.advanceTimersByTimeAsync(60_000);

  expect(requested.length, 'the metric exports reached the wire').toBeGreaterThan(0);
  expect([...new Set(requested)], 'hosts the exporter called (see docs/runtime.md, the exporter version)').toEqual([
    '127.0.0.1',
  ]);
});
