import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

// "Verified-token cache": a token verified once is taken on trust for at most 10 minutes, and not
// a moment after its signing key leaves the tenant's key set; a lifetime over the 28 hours Entra
// ever issues is refused outright.

const T0 = Date.parse('2026-11-29T12:00:00Z');
const NOW_S = Math.floor(T0 / 1000);
const HOUR = 3600;

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ now: T0 });
});
afterEach(async () => {
  await h.close();
});

async function status(token: string) {
  const answer = await h.call('GET', '/api/resources', { authorization: `Bearer ${token}` });
  return { status: answer.status, code: (answer.json as { code?: string }).code };
}

const lastDiagnosis = () => String(h.events('request').at(-1)?.diagnosis);

describe('token lifetimes', () => {
  it.each([
    ['ten years', { iat: NOW_S, exp: NOW_S + 10 * 365 * 24 * HOUR }, '87600 hours'],
    ['29 hours', { iat: NOW_S, exp: NOW_S + 29 * HOUR }, '29 hours'],
    ['an hour left, but issued two days before', { iat: NOW_S - 48 * HOUR, exp: NOW_S + HOUR }, '49 hours'],
    ['30 hours left, and no iat', { iat: undefined, exp: NOW_S + 30 * HOUR }, '30 hours'],
  ])('%s: 401 invalid_token, whoever signed it', async (_, claims, lifetime) => {
    expect(await status(await h.callerToken(claims))).toEqual({ status: 401, code: 'invalid_token' });
    expect(lastDiagnosis()).toContain(`lifetime of ${lifetime}`);
    expect(lastDiagnosis()).toContain('longer than the 28 hours Entra issues');
  });

  it.each([
    ['28 hours (continuous access evaluation)', { iat: NOW_S, exp: NOW_S + 28 * HOUR }],
    ['75 minutes (the usual)', { iat: NOW_S, exp: NOW_S + 75 * 60 }],
  ])('%s: accepted', async (_, claims) => {
    expect((await status(await h.callerToken(claims))).status).toBe(200);
  });
});

describe('the verified-token cache', () => {
  it('serves a token again without fetching anything', async () => {
    const token = await h.callerToken();
    expect((await status(token)).status).toBe(200);
    h.clock.now = T0 + 9 * 60_000;
    expect((await status(token)).status).toBe(200);
    expect(h.entra.requests).toEqual({ discovery: 1, jwks: 1 });
  });

  it('a withdrawn signing key: its tokens are refused once the key set is fetched again, at the latest 10 minutes on', async () => {
    const token = await h.callerToken({ exp: NOW_S + 20 * HOUR });
    expect((await status(token)).status).toBe(200);
    await h.entra.rotateSigningKey({ keepOld: false });
    // Nothing has told the service yet: it still holds the key set it verified the token with.
    h.clock.now = T0 + 10 * 60_000 - 1;
    expect((await status(token)).status).toBe(200);
    // Ten minutes on, the token is verified again, against the key set as Entra publishes it now.
    h.clock.now = T0 + 10 * 60_000;
    expect(await status(token)).toEqual({ status: 401, code: 'invalid_token' });
    expect(lastDiagnosis()).toContain('signed by a key the tenant does not publish');
  });

  it("a withdrawn signing key: a token from the new key makes the service fetch the set, and the old key's tokens are refused at once", async () => {
    const token = await h.callerToken({ exp: NOW_S + 20 * HOUR });
    expect((await status(token)).status).toBe(200);
    await h.entra.rotateSigningKey({ keepOld: false });
    h.clock.now = T0 + 31_000; // past the key set's 30 s cooldown
    expect((await status(await h.callerToken({ oid: 'someone-else' }))).status).toBe(200);
    expect(h.entra.requests.jwks).toBe(2);
    expect(await status(token)).toEqual({ status: 401, code: 'invalid_token' });
  });

  it('a key that stays published keeps its tokens served, verified again every 10 minutes', async () => {
    const token = await h.callerToken({ exp: NOW_S + 20 * HOUR });
    expect((await status(token)).status).toBe(200);
    await h.entra.rotateSigningKey({ keepOld: true });
    for (const minutes of [10, 20, 30]) {
      h.clock.now = T0 + minutes * 60_000 + 1;
      expect((await status(token)).status).toBe(200);
    }
    // Each re-verification found the key set 10 minutes old and fetched it again.
    expect(h.entra.requests.jwks).toBe(4);
  });
});
