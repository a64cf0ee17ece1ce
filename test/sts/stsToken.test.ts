import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectNoKeys, startHarness, type Harness } from '../support/harness.js';

// "Not a token": what the STS answers with 200 is vended only when it is a token (a compact JWS
// with a numeric exp) whose exp is between 60 s and 15 minutes ahead, and never for more than the
// 10 minutes an STS token lives.

const STS_HOST = 'japanwest.api.cognitive.microsoft.com';
const T0 = Date.parse('2026-11-29T12:00:00Z');

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ now: T0 });
});
afterEach(async () => {
  expectNoKeys(h.logText());
  await h.close();
});

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const signature = () => randomBytes(32).toString('base64url');
/** A token as the STS issues them, with `exp` this many seconds from now (the fake clock). */
const tokenExpiringIn = (seconds: number) =>
  `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ region: 'japanwest', exp: Math.floor(T0 / 1000) + seconds })}.${signature()}`;

async function token() {
  return h.call('GET', '/api/token/speech', { authorization: `Bearer ${await h.callerToken()}` });
}

const lastDiagnosis = () => String(h.events('request').at(-1)?.diagnosis);

describe('an STS 200 that is not a token is refused, not vended', () => {
  it.each([
    ['the body "OK"', 'OK', 'not three base64url parts'],
    ['a key-shaped string', '0123456789abcdef0123456789abcdef', 'not three base64url parts'],
    ['two parts', `${encode({ alg: 'HS256' })}.${encode({ exp: T0 / 1000 + 600 })}`, 'not three base64url parts'],
    [
      'an empty signature',
      `${encode({ alg: 'HS256' })}.${encode({ exp: T0 / 1000 + 600 })}.`,
      'not three base64url parts',
    ],
    [
      'an encrypted token (five parts)',
      `${encode({ alg: 'dir', enc: 'A256GCM' })}..iv.text.tag`,
      'not three base64url parts',
    ],
    [
      'alg none',
      `${encode({ alg: 'none' })}.${encode({ exp: T0 / 1000 + 600 })}.${signature()}`,
      'no signing algorithm',
    ],
    [
      'a header that is not JSON',
      `bm90LWpzb24.${encode({ exp: T0 / 1000 + 600 })}.${signature()}`,
      'not base64url JSON',
    ],
    ['a payload that is not JSON', `${encode({ alg: 'HS256' })}.bm90LWpzb24.${signature()}`, 'not base64url JSON'],
    ['no exp', `${encode({ alg: 'HS256' })}.${encode({ region: 'japanwest' })}.${signature()}`, 'no numeric exp'],
    [
      'exp as a string',
      `${encode({ alg: 'HS256' })}.${encode({ exp: String(T0 / 1000 + 600) })}.${signature()}`,
      'no numeric exp',
    ],
  ])('%s: 502 sts_invalid_response, nothing cached', async (_, body, problem) => {
    h.cognitive.script(STS_HOST, { status: 200, body });
    const refused = await token();
    expect(refused.status).toBe(502);
    expect(refused.json).toMatchObject({ code: 'sts_invalid_response' });
    expect(refused.body).not.toContain(body);
    expect(lastDiagnosis()).toContain(problem);
    expect(lastDiagnosis()).not.toContain(body);
    // Nothing was cached: once the failure is no longer held, the STS is asked again.
    h.clock.now += 3000;
    h.cognitive.script(STS_HOST, { status: 200, body, times: 0 });
    expect((await token()).status).toBe(200);
  });

  it.each([
    ['an hour in the past', -3600, '3600 s in the past'],
    ['a second in the past', -1, '1 s in the past'],
    ['30 s ahead (less than the minute a client needs)', 30, '30 s ahead'],
    ['59 minutes ahead (not an STS token)', 59 * 60, '3540 s ahead'],
    ['15 minutes and a second ahead', 15 * 60 + 1, '901 s ahead'],
  ])('exp %s: 502 sts_invalid_response', async (_, seconds, where) => {
    h.cognitive.script(STS_HOST, { status: 200, body: tokenExpiringIn(seconds) });
    const refused = await token();
    expect(refused.status).toBe(502);
    expect(refused.json).toMatchObject({ code: 'sts_invalid_response' });
    expect(lastDiagnosis()).toContain(`is ${where}, outside the 60 s to 15 minutes`);
  });

  it.each([
    ['60 s ahead', 60, 60],
    ['5 minutes ahead', 300, 300],
    ['10 minutes ahead (what the STS issues)', 600, 600],
    ['14 minutes ahead, for 10 minutes', 14 * 60, 600],
    ['15 minutes ahead, for 10 minutes', 15 * 60, 600],
  ])('exp %s: vended', async (_, seconds, expiresInSeconds) => {
    const vended = tokenExpiringIn(seconds);
    h.cognitive.script(STS_HOST, { status: 200, body: vended, times: 1 });
    const answer = await token();
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      accessToken: vended,
      expiresInSeconds,
      expiresOn: new Date(T0 + expiresInSeconds * 1000).toISOString(),
    });
  });

  it('a token whose exp is 14 minutes ahead is not served past 10 minutes: a new one is exchanged by then', async () => {
    const first = tokenExpiringIn(14 * 60);
    h.cognitive.script(STS_HOST, { status: 200, body: first, times: 1 });
    expect((await token()).json).toMatchObject({ accessToken: first });
    h.clock.now = T0 + 10 * 60_000 - 4_000; // 4 s before the 10 minutes are up: never handed out this late
    const later = await token();
    expect(later.json).not.toMatchObject({ accessToken: first });
    expect((later.json as { expiresInSeconds: number }).expiresInSeconds).toBe(600);
    expect(h.cognitive.stsCalls(STS_HOST)).toBe(2);
  });
});
