/**
 * The real Azure Monitor exporter, sending to a fake Application Insights ingestion over TLS with a
 * token from the fake managed-identity endpoint (the real @azure/identity credential): the metric
 * names and dimensions of the contract arrive, the upstream calls arrive as dependencies tied to
 * their request, and a broken connection string or ingestion never fails a request.
 *
 * MSAL remembers the managed-identity source per process, so this file has one endpoint for all.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAppInsights, type FakeAppInsights } from '../../devstack/fakes/appInsights.js';
import { ERROR_CODES } from '../../src/errors/serviceError.js';
import { createTimers } from '../../src/functions/timers.js';
import { reportRotation } from '../../src/services/rotationReport.js';
import { METRIC_DEFINITIONS, METRIC_NAMES, UNKNOWN_RESOURCE } from '../../src/telemetry/names.js';
import type { Telemetry } from '../../src/telemetry/telemetry.js';
import { ALL_TEST_KEYS, KEYS, REALTIME_RESOURCES, RESOURCES, startHarness, type Harness } from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const TELEMETRY_CLIENT_ID = '7e1d5c3a-0b2f-4c6d-8e9f-a0b1c2d3e4f5';
const MONITOR = 'https://monitor.azure.com';

let ingestion: FakeAppInsights;

const identity = useFileManagedIdentity({ clientId: TELEMETRY_CLIENT_ID });
beforeAll(async () => {
  ingestion = await startFakeAppInsights({
    acceptToken: (token) => token !== undefined && identity().tokensFor(MONITOR).includes(token),
  });
});
afterAll(async () => {
  await ingestion.close();
});

/** A harness exporting to `connectionString` with the managed identity, retries off so failures show at once. */
async function exportingHarness(connectionString: string, ca: string): Promise<Harness> {
  const h = await startHarness({
    dependencies: {
      telemetryExport: { clientOptions: { tlsOptions: { ca }, retryOptions: { maxRetries: 0 } } },
    },
  });
  h.rebuild({
    ...identity().env,
    APPLICATIONINSIGHTS_CONNECTION_STRING: connectionString,
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${TELEMETRY_CLIENT_ID};Authorization=AAD`,
    // A realtime resource for its mints, and one with a fallback (the multi-service key in eastus)
    // for the failover metric.
    TOKEN_RESOURCES: JSON.stringify([
      ...RESOURCES,
      REALTIME_RESOURCES[0],
      { ...RESOURCES[0], name: 'speech-pair', failover: [{ region: 'eastus', secretName: 'multi-key' }] },
    ]),
  });
  return h;
}

function telemetryOf(h: Harness): Telemetry {
  return h.parts.telemetry;
}

const dimensionsOf = (name: string, properties: Readonly<Record<string, string>>) =>
  expect(Object.keys(properties).sort(), name).toEqual(
    [...METRIC_DEFINITIONS[name as keyof typeof METRIC_DEFINITIONS].dimensions].sort(),
  );

describe('telemetry export to Application Insights', () => {
  let h: Harness;
  let callerOid: string;
  let callerToken: string;

  beforeAll(async () => {
    h = await exportingHarness(ingestion.connectionString, ingestion.certificatePem);
    callerOid = 'caller-oid-0f3a9b27';
    callerToken = await h.callerToken({ oid: callerOid });
    const auth = { authorization: `Bearer ${callerToken}` };
    expect((await h.call('GET', '/api/token/speech', { ...auth, 'x-correlation-id': 'ops-first' })).status).toBe(200);
    expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
    expect((await h.call('GET', '/api/token/nothing-here', auth)).status).toBe(404);
    expect((await h.call('GET', '/api/token/speech-pair', auth)).status).toBe(200);
    const stranger = await h.callerToken({ roles: ['Other'] });
    expect((await h.call('GET', '/api/token/speech', { authorization: `Bearer ${stranger}` })).status).toBe(403);
    // A key the STS rejects, read again and still rejected: key_rejected, on the span and the refresh.
    h.vault.setSecret('translator-key', KEYS.speechRotated);
    expect((await h.call('GET', '/api/token/translator', { ...auth, 'x-correlation-id': 'ops-rejected' })).status).toBe(
      502,
    );
    // A realtime key, then one Azure OpenAI throttles: credential_mints by outcome, an openai span.
    const talker = { authorization: `Bearer ${await h.callerToken({ roles: ['Assistant.Talk'] })}` };
    expect(
      (await h.call('GET', '/api/token/assistant', { ...talker, 'x-correlation-id': 'ops-realtime' })).status,
    ).toBe(200);
    h.openai.failMints(1, { status: 429, retryAfterSeconds: 5 });
    expect((await h.call('GET', '/api/token/assistant', talker)).status).toBe(503);
    // The self-check (which flushes at its end) and a rotation's report, through the hook rotation calls.
    const [selfCheck] = createTimers(h.services.jobs);
    await selfCheck!.run(
      new InvocationContext({ invocationId: randomUUID(), functionName: 'self-check', logHandler: () => undefined }),
    );
    reportRotation(h.parts.telemetry, [
      { resource: 'speech', action: 'rotated', keyName: 'key2' },
      { resource: 'translator', action: 'skipped', reason: 'not due' },
      { resource: 'multi', action: 'failed', code: 'rotation_permission_missing' },
    ]);
    await telemetryOf(h).flush();
  });
  afterAll(async () => {
    await h.close();
  });

  it('every metric of the contract arrives (the names the alerts and the workbook query)', () => {
    expect(METRIC_NAMES.filter((name) => !ingestion.metrics.some((m) => m.name === name))).toEqual([]);
    const checks = ingestion.metrics.filter((m) => m.name === 'self_checks');
    expect(checks.find((m) => m.properties.resource === 'translator')?.properties).toEqual({
      resource: 'translator',
      healthy: 'false',
      code: 'key_rejected',
    });
    expect(checks.find((m) => m.properties.resource === 'speech')?.properties).toMatchObject({
      healthy: 'true',
      code: 'none',
    });
    expect(ingestion.metrics.filter((m) => m.name === 'key_rotations').map((m) => m.properties)).toEqual(
      expect.arrayContaining([
        { resource: 'speech', outcome: 'rotated', code: 'none' },
        { resource: 'multi', outcome: 'failed', code: 'rotation_permission_missing' },
      ]),
    );
    expect(ingestion.metrics.some((m) => m.name === 'key_rotations' && m.properties.resource === 'translator')).toBe(
      false,
    );
    // The resource itself served speech-pair: place 0.
    expect(ingestion.metrics.filter((m) => m.name === 'failover_serving_member')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ value: 0, properties: { resource: 'speech-pair', member: 'speech-pair' } }),
      ]),
    );
  });

  it('sends with the managed identity, over TLS, and ingestion accepts every batch', () => {
    expect(ingestion.posts.length).toBeGreaterThanOrEqual(2);
    expect(ingestion.posts.every((post) => post.bearer && post.status === 200)).toBe(true);
    expect(identity().requests.some((r) => r.resource === MONITOR && r.clientId === TELEMETRY_CLIENT_ID)).toBe(true);
  });

  it('token requests by configured resource and outcome; a name nobody configured is (unknown)', () => {
    const requests = ingestion.metrics.filter((m) => m.name === 'token_requests');
    for (const m of requests) dimensionsOf(m.name, m.properties);
    const by = (resource: string, outcome: string) =>
      requests
        .filter((m) => m.properties.resource === resource && m.properties.outcome === outcome)
        .reduce((n, m) => n + m.value, 0);
    expect(by('speech', 'ok')).toBe(2);
    expect(by('speech', 'forbidden')).toBe(1);
    expect(by(UNKNOWN_RESOURCE, 'resource_not_found')).toBe(1);
    expect(by('translator', 'key_rejected')).toBe(1);
    expect(requests.every((m) => ['ok', ...ERROR_CODES].includes(m.properties.outcome ?? ''))).toBe(true);
  });

  it('cache hits and misses, refreshes by outcome, and the served lifetime', () => {
    const sum = (name: string, match: Record<string, string>) =>
      ingestion.metrics
        .filter((m) => m.name === name && Object.entries(match).every(([k, v]) => m.properties[k] === v))
        .reduce((n, m) => n + m.value, 0);
    const contract = ingestion.metrics.filter((m) => m.name in METRIC_DEFINITIONS);
    for (const m of contract) dimensionsOf(m.name, m.properties);
    // Beside the contract, only the exporter's own resource envelope.
    expect([...new Set(ingestion.metrics.map((m) => m.name))].filter((n) => !(n in METRIC_DEFINITIONS))).toEqual([
      '_OTELRESOURCE_',
    ]);
    // Requests and the self-check: speech was fresh for the second request and for the check.
    expect(sum('token_cache_lookups', { resource: 'speech', result: 'hit' })).toBe(2);
    expect(sum('token_cache_lookups', { resource: 'speech', result: 'miss' })).toBe(1);
    expect(sum('token_refreshes', { resource: 'speech', mode: 'foreground', outcome: 'ok' })).toBe(1);
    expect(
      sum('token_refreshes', { resource: 'translator', mode: 'foreground', outcome: 'key_rejected' }),
    ).toBeGreaterThanOrEqual(1);
    // A gauge: the fewest seconds a served token had left, per export.
    const lifetime = ingestion.metrics.filter((m) => m.name === 'token_remaining_lifetime_seconds');
    expect(lifetime.length).toBeGreaterThanOrEqual(1);
    const stsLifetime = lifetime.filter((m) => ['speech', 'speech-pair'].includes(m.properties.resource ?? ''));
    expect(stsLifetime.length).toBeGreaterThanOrEqual(1);
    expect(stsLifetime.every((m) => m.value > 500 && m.value <= 600)).toBe(true);
    // A realtime key is handed out with its minute.
    expect(
      lifetime.filter((m) => m.properties.resource === 'assistant').every((m) => m.value > 50 && m.value <= 60),
    ).toBe(true);
  });

  it('realtime mints by resource and outcome, each an openai span tied to its request', () => {
    const mints = ingestion.metrics.filter((m) => m.name === 'credential_mints');
    const by = (outcome: string) =>
      mints
        .filter((m) => m.properties.resource === 'assistant' && m.properties.outcome === outcome)
        .reduce((n, m) => n + m.value, 0);
    // The request's mint and the self-check's.
    expect(by('ok')).toBe(2);
    expect(by('openai_throttled')).toBe(1);
    const [span] = ingestion.dependencies.filter((d) => d.properties.correlation_id === 'ops-realtime');
    expect(span).toMatchObject({ name: 'openai', success: true, resultCode: '200' });
    expect(span?.properties).toMatchObject({ upstream: 'openai', status_class: '2xx', resource: 'assistant' });
    const throttled = ingestion.dependencies.filter(
      (d) => d.name === 'openai' && d.properties.code === 'openai_throttled',
    );
    expect(throttled).toHaveLength(1);
  });

  it('every upstream call is a dependency span with its status class, cause code and request ids', () => {
    const names = new Set(ingestion.dependencies.map((d) => d.name));
    expect([...names].sort()).toEqual(['discovery', 'jwks', 'keyvault', 'openai', 'sts']);
    const first = ingestion.dependencies.filter((d) => d.properties.correlation_id === 'ops-first');
    expect(first.map((d) => d.name).sort()).toEqual(['discovery', 'jwks', 'keyvault', 'sts']);
    for (const d of first) {
      expect(d).toMatchObject({ success: true, type: 'Http', resultCode: '200' });
      expect(d.properties).toMatchObject({ upstream: d.name, status_class: '2xx' });
      // No traceparent from a host here: the request's trace is its invocation id.
      expect(d.operationId).toBe(d.properties.invocation_id?.replace(/-/g, ''));
    }
    const rejected = ingestion.dependencies.filter(
      (d) => d.properties.correlation_id === 'ops-rejected' && d.name === 'sts',
    );
    expect(rejected.length).toBe(1); // read again after the 401, the key is unchanged: not sent twice
    for (const d of rejected) {
      expect(d).toMatchObject({ success: false, resultCode: '401' });
      expect(d.properties).toMatchObject({ code: 'key_rejected', status_class: '4xx', resource: 'translator' });
    }
    const durations = ingestion.metrics.filter((m) => m.name === 'upstream_duration_ms');
    expect(new Set(durations.map((m) => `${m.properties.upstream} ${m.properties.status_class}`))).toEqual(
      new Set(['discovery 2xx', 'jwks 2xx', 'keyvault 2xx', 'sts 2xx', 'sts 4xx', 'openai 2xx', 'openai 4xx']),
    );
  });

  it('carries no caller identity, token or key', () => {
    const sent = JSON.stringify([ingestion.metrics, ingestion.dependencies]);
    for (const key of ALL_TEST_KEYS) expect(sent).not.toContain(key);
    expect(sent).not.toContain(callerOid);
    expect(sent).not.toContain(callerToken.split('.')[2]);
    expect(sent).not.toMatch(/fake-mi-|"accessToken"|ek_|harness-token/);
  });
});

describe('telemetry that cannot be exported never fails the service', () => {
  it('an invalid connection string: nothing is exported, said once with the fix, requests answer', async () => {
    const h = await startHarness();
    try {
      h.rebuild({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=not-a-guid' });
      expect(telemetryOf(h).exporting).toBe(false);
      const lines = h.logs.filter((l) => l.text.includes('"telemetry_disabled"'));
      expect(lines).toHaveLength(1);
      expect(lines[0]?.text).toContain('APPLICATIONINSIGHTS_CONNECTION_STRING');
      expect(lines[0]?.text).toContain('"fix"');
      const token = await h.callerToken();
      expect((await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` })).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('ingestion refusing the token: requests answer, the failure is logged once with the role to grant', async () => {
    const h = await exportingHarness(ingestion.connectionString, ingestion.certificatePem);
    try {
      ingestion.failNext(10, 403);
      const auth = { authorization: `Bearer ${await h.callerToken()}` };
      expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
      await telemetryOf(h).flush();
      expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
      await telemetryOf(h).flush();
      const lines = h.logs.filter((l) => l.text.includes('"telemetry_export_failed"'));
      expect(lines).toHaveLength(1);
      expect(lines[0]?.text).toMatch(/answered 403.*Monitoring Metrics Publisher/);
    } finally {
      ingestion.failNext(0, 500);
      await h.close();
    }
  });

  it('ingestion unreachable: requests answer, the failure is logged once naming the endpoint', async () => {
    const gone = await startFakeAppInsights();
    const connectionString = gone.connectionString;
    await gone.close();
    const h = await exportingHarness(connectionString, gone.certificatePem);
    try {
      const auth = { authorization: `Bearer ${await h.callerToken()}` };
      expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
      await telemetryOf(h).flush();
      await telemetryOf(h).flush();
      const lines = h.logs.filter((l) => l.text.includes('"telemetry_export_failed"'));
      expect(lines).toHaveLength(1);
      expect(lines[0]?.text).toMatch(/could not be reached.*IngestionEndpoint/);
    } finally {
      await h.close();
    }
  });

  it('no connection string: nothing is recorded or sent', async () => {
    const h = await startHarness();
    try {
      expect(telemetryOf(h).exporting).toBe(false);
      await telemetryOf(h).flush();
    } finally {
      await h.close();
    }
  });
});
