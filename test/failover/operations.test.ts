/**
 * What operators see of a failover: the status view per member and who serves, the metric of the
 * serving member at Application Insights ingestion (the real exporter, as the alert reads it), the
 * self-check's line per member, and the doctor's finding per member.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeAppInsights, type FakeAppInsights } from '../../devstack/fakes/appInsights.js';
import type { ServiceStatus } from '../../src/contract/answers.js';
import { diagnose } from '../../src/doctor/diagnose.js';
import { createTimers } from '../../src/functions/timers.js';
import { EVENTS } from '../../src/telemetry/names.js';
import { expectNoKeys, type Harness } from '../support/harness.js';
import { useFileManagedIdentity } from '../support/managedIdentity.js';
import { EAST_KEY, EAST_STS, endOutage, speechToken, startFailoverHarness, WEST_STS } from './support.js';

const TELEMETRY_CLIENT_ID = '2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091';
const OPERATOR = { roles: ['TokenVending.Operator'] };

const identity = useFileManagedIdentity({ clientId: TELEMETRY_CLIENT_ID });
let ingestion: FakeAppInsights;
beforeAll(async () => {
  ingestion = await startFakeAppInsights({
    acceptToken: (token) => token !== undefined && identity().tokensFor('https://monitor.azure.com').includes(token),
  });
});
afterAll(async () => {
  await ingestion.close();
});

let h: Harness;
afterEach(async () => {
  await h.close();
  expectNoKeys(h.logText(), [EAST_KEY]);
});

async function status(): Promise<ServiceStatus['resources'][number]> {
  const answer = await h.call('GET', '/api/status', { authorization: `Bearer ${await h.callerToken(OPERATOR)}` });
  expect(answer.status).toBe(200);
  expect(answer.body).not.toContain('speech-east-key');
  const speech = (answer.json as ServiceStatus).resources.find((r) => r.name === 'speech');
  if (speech === undefined) throw new Error('no speech in the status');
  return speech;
}

/** Runs the self-check timer; its log lines (the timer's own logger), as objects. */
async function selfCheck(): Promise<Record<string, unknown>[]> {
  const [timer] = createTimers(h.services.jobs);
  const lines: Record<string, unknown>[] = [];
  await timer!.run(
    new InvocationContext({
      invocationId: randomUUID(),
      functionName: 'self-check',
      logHandler: (_level, ...args) => lines.push(JSON.parse(args.map(String).join(' ')) as Record<string, unknown>),
    }),
  );
  return lines;
}

describe('failover as operators see it', () => {
  it("the status view: who serves, each member's state and next probe; degraded while a fallback serves", async () => {
    h = await startFailoverHarness();
    h.clock.now = Date.parse('2026-11-22T10:00:00Z');
    await speechToken(h);
    expect(await status()).toMatchObject({
      state: 'ok',
      failover: {
        serving: 'speech',
        members: [
          { member: 'speech', region: 'japanwest', state: 'healthy', lastError: null, expiresOn: expect.any(String) },
          { member: 'speech.failover[0]', region: 'japaneast', state: 'healthy', expiresOn: null },
        ],
      },
    });

    h.cognitive.script(WEST_STS, { status: 503 });
    h.clock.now += 10 * 60_000;
    await speechToken(h);
    const during = await status();
    expect(during).toMatchObject({
      state: 'degraded',
      failover: {
        serving: 'speech.failover[0]',
        members: [
          {
            member: 'speech',
            state: 'failing',
            failingSince: '2026-11-22T10:10:00.000Z',
            // The backoff's first wait (0.75 s with this jitter), or the STS's Retry-After when longer.
            nextProbeAt: '2026-11-22T10:10:01.000Z',
            lastError: { code: 'sts_unavailable', at: '2026-11-22T10:10:00.000Z' },
          },
          { member: 'speech.failover[0]', state: 'healthy', expiresOn: '2026-11-22T10:20:00.000Z' },
        ],
      },
    });

    h.cognitive.script(EAST_STS, { status: 503 });
    h.clock.now += 10 * 60_000;
    await h.call('GET', '/api/token/speech', { authorization: `Bearer ${await h.callerToken()}` });
    expect(await status()).toMatchObject({ state: 'failing', failover: { serving: null } });

    endOutage(h, WEST_STS);
    endOutage(h, EAST_STS);
    // The next self-check (every 5 minutes) finds both working: the primary serves again.
    h.clock.now += 5 * 60_000;
    await selfCheck();
    expect(await status()).toMatchObject({
      state: 'ok',
      failover: { serving: 'speech', members: [{ state: 'healthy' }, { state: 'healthy' }] },
    });
  });

  it('the self-check reports every member, and brings a member back that works again', async () => {
    h = await startFailoverHarness();
    h.cognitive.script(WEST_STS, {
      status: 403,
      body: '{"error":{"code":"403001","message":"Out of call volume quota."}}',
    });
    await speechToken(h);
    const lines = (await selfCheck()).filter((l) => l.event === EVENTS.resourceHealth);
    expect(lines.map((l) => [l.resource, l.healthy, l.code])).toEqual(
      expect.arrayContaining([
        ['speech', false, 'quota_exceeded'],
        ['speech.failover[0]', true, null],
      ]),
    );
    endOutage(h, WEST_STS);
    h.clock.now += 10 * 60_000;
    await selfCheck();
    expect(h.events(EVENTS.failoverMemberRecovered)).toMatchObject([{ resource: 'speech', member: 'speech' }]);
    expect((await speechToken(h)).region).toBe('japanwest');
  });

  it('the doctor checks every member', async () => {
    h = await startFailoverHarness();
    h.vault.setSecret('speech-east-key', '0b1f6471-1bf0-4dda-aec3-111122223333');
    const findings = await diagnose(h.env, { ...h.dependencies, sleep: () => Promise.resolve() });
    expect(findings.filter((f) => f.resource.startsWith('speech')).map((f) => [f.resource, f.ok, f.cause])).toEqual([
      ['speech', true, null],
      ['speech.failover[0]', false, 'key_looks_like_subscription_id'],
      ['speech-cn', true, null],
      ['speech-gov', true, null],
      ['speech-custom', true, null],
    ]);
  });

  it("the metric of the serving member reaches Application Insights: the fallback's place while it serves", async () => {
    h = await startFailoverHarness({
      telemetryExport: {
        clientOptions: { tlsOptions: { ca: ingestion.certificatePem }, retryOptions: { maxRetries: 0 } },
      },
    });
    h.rebuild({
      ...identity().env,
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${TELEMETRY_CLIENT_ID};Authorization=AAD`,
    });
    h.cognitive.script(WEST_STS, { status: 503 });
    await speechToken(h);
    await speechToken(h);
    await h.parts.telemetry.flush();
    await vi.waitFor(() =>
      expect(ingestion.metrics.filter((m) => m.name === 'failover_serving_member')).toEqual([
        expect.objectContaining({ value: 1, properties: { resource: 'speech', member: 'speech.failover[0]' } }),
      ]),
    );
  });
});
