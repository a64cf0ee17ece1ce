import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../src/contract/answers.js';
import {
  ALL_TEST_KEYS,
  KEYS,
  REALTIME_RESOURCES,
  RESOURCES,
  ROTATED_RESOURCES,
  startHarness,
  type Harness,
} from '../support/harness.js';

const OPERATOR = { roles: ['TokenVending.Operator'] };

describe('GET /api/status', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ now: Date.parse('2026-11-22T10:00:00Z') });
  });
  afterEach(async () => {
    await h.close();
  });

  const status = async (claims: Record<string, unknown> = OPERATOR) =>
    h.call('GET', '/api/status', { authorization: `Bearer ${await h.callerToken(claims)}` });
  const resource = (body: unknown, name: string) => (body as ServiceStatus).resources.find((r) => r.name === name)!;

  it('answers an operator with each resource, the instance, and nothing secret', async () => {
    h.vault.setSecret('speech-key', KEYS.speech, { tags: { keyName: 'key2', rotatedAt: '2026-11-20T10:00:00Z' } });
    const caller = await h.callerToken({ oid: 'caller-7c1d0e', roles: ['Speech.Token'] });
    const token = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${caller}` });
    expect(token.status).toBe(200);
    h.clock.now += 60_000;

    const answer = await status();
    expect(answer.status).toBe(200);
    const body = answer.json as ServiceStatus;
    expect(body.instance).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      startedAt: '2026-11-22T10:00:00.000Z',
      version: '0.1.0',
    });
    expect(body.time).toBe('2026-11-22T10:01:00.000Z');
    expect(body.resources.map((r) => r.name)).toEqual([
      'speech',
      'speech-cn',
      'speech-gov',
      'speech-custom',
      'translator',
      'multi',
    ]);
    expect(resource(body, 'speech')).toEqual({
      name: 'speech',
      state: 'ok',
      expiresOn: (token.json as { expiresOn: string }).expiresOn,
      lastRefreshAt: '2026-11-22T10:00:00.000Z',
      lastError: null,
      key: { keyName: 'key2', createdOn: '2026-11-22T10:00:00.000Z', ageSeconds: 60 },
      nextRotationAt: null,
    });
    // Never asked for here: nothing cached, nothing failed.
    expect(resource(body, 'translator')).toMatchObject({ state: 'ok', expiresOn: null, key: null, lastError: null });

    for (const key of ALL_TEST_KEYS) expect(answer.body).not.toContain(key);
    expect(answer.body).not.toContain((token.json as { accessToken: string }).accessToken);
    expect(answer.body).not.toContain('caller-7c1d0e');
  });

  it('degraded while refreshes fail and the cached token is served; failing once it is gone', async () => {
    const auth = { authorization: `Bearer ${await h.callerToken()}` };
    expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
    h.cognitive.script('*', { status: 503 });
    // Inside the refresh-ahead window: the cached token is served, the background refresh fails.
    h.clock.now += 8.5 * 60_000;
    expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
    await expect.poll(async () => resource((await status()).json, 'speech').state).toBe('degraded');
    const degraded = resource((await status()).json, 'speech');
    expect(degraded.lastError).toEqual({ code: 'sts_unavailable', at: expect.any(String) });

    h.clock.now += 2 * 60_000;
    expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(503);
    expect(resource((await status()).json, 'speech')).toMatchObject({
      state: 'failing',
      lastError: { code: 'sts_unavailable' },
    });
  });

  it('shows realtime resources by their latest mint: nothing cached, the last key minted, the last failure', async () => {
    h.rebuild({ TOKEN_RESOURCES: JSON.stringify([...RESOURCES, ...REALTIME_RESOURCES]) });
    const auth = { authorization: `Bearer ${await h.callerToken({ roles: ['Assistant.Talk'] })}` };
    const never = resource((await status()).json, 'assistant');
    expect(never).toEqual({
      name: 'assistant',
      state: 'ok',
      expiresOn: null,
      lastRefreshAt: null,
      lastError: null,
      key: null,
      nextRotationAt: null,
    });
    const minted = await h.call('GET', '/api/token/assistant', auth);
    expect(minted.status).toBe(200);
    h.clock.now += 1000;
    h.openai.failMints(1, { status: 429, retryAfterSeconds: 2 });
    expect((await h.call('GET', '/api/token/assistant', auth)).status).toBe(503);
    const answer = await status();
    expect(resource(answer.json, 'assistant')).toEqual({
      name: 'assistant',
      state: 'failing',
      expiresOn: null,
      lastRefreshAt: '2026-11-22T10:00:00.000Z',
      lastError: { code: 'openai_throttled', at: '2026-11-22T10:00:01.000Z' },
      key: null,
      nextRotationAt: null,
    });
    expect(answer.body).not.toContain((minted.json as { accessToken: string }).accessToken);
    h.clock.now += 2000;
    expect((await h.call('GET', '/api/token/assistant', auth)).status).toBe(200);
    expect(resource((await status()).json, 'assistant')).toMatchObject({
      state: 'ok',
      lastError: { code: 'openai_throttled' },
    });
  });

  it('refuses a caller without an operator role: 403, the same problem as elsewhere; 401 without a token', async () => {
    const refused = await status({ roles: ['Speech.Token'], scp: 'TokenVending.Operator' });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('TokenVending.Operator') });
    expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
    expect((await h.call('GET', '/api/status')).status).toBe(401);
  });

  it('takes the operator roles from OPERATOR_ROLES', async () => {
    h.rebuild({ OPERATOR_ROLES: 'Ops.Read,Ops.All' });
    expect((await status()).status).toBe(403);
    expect((await status({ roles: ['Ops.All'] })).status).toBe(200);
  });

  it('answers 503 configuration_invalid while the settings are invalid', async () => {
    h.rebuild({ SELF_CHECK_SCHEDULE: 'every five minutes' });
    expect((await status()).json).toMatchObject({ status: 503, code: 'configuration_invalid' });
  });

  it('says when a rotated key is next due: its rotatedAt tag plus KEY_ROTATION_DAYS', async () => {
    h.rebuild({ TOKEN_RESOURCES: JSON.stringify(ROTATED_RESOURCES), KEY_ROTATION_DAYS: '30' });
    h.vault.setSecret('speech-key', KEYS.speech, { tags: { keyName: 'key2', rotatedAt: '2026-11-20T10:00:00Z' } });
    h.vault.setSecret('translator-key', KEYS.translator, {
      tags: { keyName: 'key1', rotatedAt: '2026-11-20T10:00:00Z' },
    });
    const auth = { authorization: `Bearer ${await h.callerToken({ roles: ['Speech.Token', 'Translator.Token'] })}` };
    expect((await h.call('GET', '/api/token/speech', auth)).status).toBe(200);
    expect((await h.call('GET', '/api/token/translator', auth)).status).toBe(200);

    const body = (await status()).json as ServiceStatus;
    expect(resource(body, 'speech').nextRotationAt).toBe('2026-12-20T10:00:00.000Z');
    // No resourceId: the service never rotates it, whatever its tags say.
    expect(resource(body, 'translator').nextRotationAt).toBeNull();
  });
});
