/**
 * The bundle Azure loads, exporting for real: the local host (a child process, like the Functions
 * worker) loads the exporter's chunk after warm-up and sends to the fake ingestion over TLS with a
 * managed-identity token; the status view answers an operator over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../devstack/localStack.js';
import { fetchConforming } from '../support/contract.js';

describe('the local stack exporting telemetry', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ telemetry: { exportIntervalMs: 1000 } });
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('sends the host’s metrics and upstream spans, authenticated, while requests are answered', async () => {
    const caller = `Bearer ${await stack.callerToken({ roles: ['Speech.Token', 'TokenVending.Operator'] })}`;
    const token = await fetchConforming(`${stack.apiUrl}/token/speech`, { headers: { authorization: caller } });
    expect(token.status).toBe(200);
    const ingestion = stack.appInsights!;
    await expect
      .poll(() => ingestion.metrics.some((m) => m.name === 'token_requests' && m.properties.outcome === 'ok'), {
        timeout: 10_000,
      })
      .toBe(true);
    // The upstreams a token request goes through; others (ARM, from the self-check) may come too.
    await expect
      .poll(() => new Set(ingestion.dependencies.map((d) => d.name)), { timeout: 10_000 })
      .toEqual(new Set(['discovery', 'jwks', 'keyvault', 'sts', ...ingestion.dependencies.map((d) => d.name)]));
    expect(ingestion.dependencies.map((d) => d.name)).toEqual(
      expect.arrayContaining(['discovery', 'jwks', 'keyvault', 'sts']),
    );
    expect(ingestion.posts.every((post) => post.bearer && post.status === 200)).toBe(true);
    expect(stack.hostOutput.join('\n')).not.toMatch(/telemetry_(export_failed|disabled)/);

    const status = await fetchConforming(`${stack.apiUrl}/status`, { headers: { authorization: caller } });
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({
      resources: [{ name: 'speech', state: 'ok' }, { name: 'translator' }, { name: 'assistant', expiresOn: null }],
    });
  });
});
