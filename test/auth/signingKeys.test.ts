import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntraFailure } from '../../devstack/fakes/entra.js';
import { AUDIENCE, startHarness, type Harness } from '../support/harness.js';

// Entra failing, seen at the wire: the fake's discovery and key-set endpoints fail on demand and
// count requests; the service is called through its routes with a fake clock.
let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function get(token: string) {
  const response = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` });
  return { status: response.status, code: (response.json as { code?: string }).code };
}

const forged = () => h.entra.mintWithUnpublishedKey({ aud: AUDIENCE, roles: ['Speech.Token'] });
const errorLines = () => h.logs.filter((line) => line.level === 'error');
const tally = (answers: readonly { status: number; code?: string | undefined }[]) => {
  const counts: Record<string, number> = {};
  for (const { status, code } of answers)
    counts[`${status} ${code ?? ''}`.trim()] = (counts[`${status} ${code ?? ''}`.trim()] ?? 0) + 1;
  return counts;
};

const FAILURES: [string, EntraFailure][] = [
  ['500', { status: 500 }],
  ['429', { status: 429 }],
  ['a dropped connection', 'reset'],
];

describe('the signing key set while Entra fails', () => {
  it.each(FAILURES)(
    'key set answering %s: 120 forged kids cost one fetch, each a 401, no error line',
    async (_, failure) => {
      expect((await get(await h.callerToken())).status).toBe(200);
      h.clock.now += 31_000; // past the cooldown of the first fetch
      h.entra.resetCounters();
      h.entra.failEndpoint('jwks', failure);

      const answers = [];
      for (let i = 0; i < 120; i++) {
        answers.push(await get(await forged()));
        h.clock.now += 100; // 12 s in all: inside one cooldown
      }

      expect(h.entra.requests.jwks).toBe(1);
      expect(tally(answers)).toEqual({ '401 invalid_token': 120 });
      expect(errorLines()).toEqual([]);
      // The failed refresh is reported once, as a warning; the forged tokens are only 401s.
      expect(h.logs.filter((line) => line.text.includes('signing_keys_refresh_failed'))).toHaveLength(1);
      // Callers with a known key are served from the last good set all along.
      expect((await get(await h.callerToken({ oid: 'real-user' }))).status).toBe(200);

      h.clock.now += 30_000; // the cooldown runs from the failed attempt: one more, then quiet again
      for (let i = 0; i < 10; i++) expect((await get(await forged())).code).toBe('invalid_token');
      expect(h.entra.requests.jwks).toBe(2);
    },
  );

  it('concurrent unknown kids after the cooldown share one fetch', async () => {
    expect((await get(await h.callerToken())).status).toBe(200);
    h.clock.now += 31_000;
    h.entra.resetCounters();
    h.entra.failEndpoint('jwks', { status: 500 });
    const tokens = await Promise.all(Array.from({ length: 50 }, forged));
    const answers = await Promise.all(tokens.map(get));
    expect(tally(answers)).toEqual({ '401 invalid_token': 50 });
    expect(h.entra.requests.jwks).toBe(1);
  });

  it('keeps using the last good key set past its cache age, refreshing once per cooldown', async () => {
    expect((await get(await h.callerToken())).status).toBe(200);
    h.entra.resetCounters();
    h.entra.failEndpoint('jwks', { status: 503 });
    h.clock.now += 11 * 60_000; // past the 10-minute cache age

    for (let i = 0; i < 20; i++) {
      expect(await get(await h.callerToken({ oid: `user-${i}` }))).toEqual({ status: 200, code: undefined });
      h.clock.now += 1000;
    }
    expect(h.entra.requests.jwks).toBe(1);
    h.clock.now += 10_000; // 30 s after the failed refresh
    expect((await get(await h.callerToken())).status).toBe(200);
    expect(h.entra.requests.jwks).toBe(2);
    expect(errorLines()).toEqual([]);
  });

  it('picks up a new signing key once Entra answers again', async () => {
    expect((await get(await h.callerToken())).status).toBe(200);
    h.clock.now += 31_000;
    h.entra.failEndpoint('jwks', 'reset');
    await h.entra.rotateSigningKey({ keepOld: false });
    const rolledOver = await h.callerToken({ oid: 'after-rollover' });
    expect(await get(rolledOver)).toEqual({ status: 401, code: 'invalid_token' });
    h.entra.recoverEndpoint('jwks');
    expect((await get(rolledOver)).status).toBe(401); // still inside the cooldown of the failed attempt
    h.clock.now += 30_000;
    expect((await get(rolledOver)).status).toBe(200);
  });

  it('without any key set yet: 503, retried once per 5 s, not per caller', async () => {
    h.entra.failEndpoint('jwks', { status: 500 });
    const token = await h.callerToken();
    const answers = [];
    for (let i = 0; i < 30; i++) {
      answers.push(await get(await forged()));
      h.clock.now += 100;
    }
    expect(tally(answers)).toEqual({ '503 identity_provider_unavailable': 30 });
    expect(h.entra.requests.jwks).toBe(1);
    h.clock.now += 2000; // 5 s after the attempt
    expect((await get(token)).code).toBe('identity_provider_unavailable');
    expect(h.entra.requests.jwks).toBe(2);
    h.entra.recoverEndpoint('jwks');
    h.clock.now += 5000;
    expect((await get(token)).status).toBe(200);
    expect(h.entra.requests.jwks).toBe(3);
  });
});

describe('OIDC discovery while Entra fails', () => {
  it.each(FAILURES)(
    'discovery answering %s: 503, retried once per 5 s from the attempt (or its Retry-After)',
    async (_, failure) => {
      h.entra.failEndpoint('discovery', failure);
      // The fake's 429 says Retry-After: 30, which is honoured.
      const holdMs = failure !== 'reset' && failure.status === 429 ? 30_000 : 5000;
      const answers = [];
      for (let i = 0; i < 40; i++) {
        answers.push(await get(await forged()));
        h.clock.now += 100; // 4 s in all
      }
      expect(tally(answers)).toEqual({ '503 identity_provider_unavailable': 40 });
      expect(h.entra.requests.discovery).toBe(1);
      h.clock.now += holdMs - 4000;
      expect((await get(await h.callerToken())).code).toBe('identity_provider_unavailable');
      expect(h.entra.requests.discovery).toBe(2);
      h.entra.recoverEndpoint('discovery');
      h.clock.now += holdMs;
      expect((await get(await h.callerToken())).status).toBe(200);
      expect(h.entra.requests).toEqual({ discovery: 3, jwks: 1 });
    },
  );

  it('a discovery that succeeded keeps being used while discovery fails', async () => {
    expect((await get(await h.callerToken())).status).toBe(200);
    h.entra.failEndpoint('discovery', { status: 500 });
    h.clock.now += 11 * 60_000; // the key set is refreshed; discovery is not asked again
    expect((await get(await h.callerToken({ oid: 'later' }))).status).toBe(200);
    expect(h.entra.requests).toEqual({ discovery: 1, jwks: 2 });
  });
});
