import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectNoKeys, startHarness, type Harness } from '../support/harness.js';

// "Retry-After": what an upstream asks callers to wait is advice, honoured up to a minute. The
// failure is held (the upstream not asked again) for as long as it asked, up to 60 s, and callers
// are told the same capped figure, in `Retry-After` and `retryAfterSeconds`. The same for every
// upstream that sends one: the STS, Key Vault and Entra here, ARM in test/rotation/armAnswers.test.ts.

const STS_HOST = 'japanwest.api.cognitive.microsoft.com';
const T0 = Date.parse('2026-11-29T12:00:00Z');
const AN_HOUR_AHEAD = new Date(T0 + 3_600_000).toUTCString();

let h: Harness;
let bearer: string;
beforeEach(async () => {
  h = await startHarness({ now: T0 });
  bearer = `Bearer ${await h.callerToken({ exp: Math.floor(T0 / 1000) + 7200 })}`;
});
afterEach(async () => {
  expectNoKeys(h.logText());
  await h.close();
});

const token = () => h.call('GET', '/api/token/speech', { authorization: bearer });

/** The answer's code and the wait it tells the caller, in the header and in the body. */
async function refusal() {
  const answer = await token();
  const body = answer.json as { code?: string; retryAfterSeconds?: number };
  return {
    status: answer.status,
    code: body.code,
    header: answer.headers['retry-after'],
    body: body.retryAfterSeconds,
  };
}

describe('the STS', () => {
  it.each([
    [
      '503, Retry-After: 3600',
      { status: 503 as const, body: '{"error":{"code":"503","message":"Busy."}}', headers: { 'Retry-After': '3600' } },
      'sts_unavailable',
    ],
    ['429, Retry-After: 3600', { status: 429 as const, retryAfterSeconds: 3600 }, 'sts_throttled'],
    [
      '429, Retry-After: a date an hour ahead',
      { status: 429 as const, retryAfterSeconds: AN_HOUR_AHEAD },
      'sts_throttled',
    ],
  ])('%s: callers are told 60 s, and the resource is held 60 s, not an hour', async (_, behaviour, code) => {
    h.cognitive.script(STS_HOST, behaviour);
    expect(await refusal()).toEqual({ status: 503, code, header: '60', body: 60 });
    // Beyond the 12 s budget: reported, not waited for.
    expect(h.cognitive.stsCalls(STS_HOST)).toBe(1);
    h.clock.now = T0 + 59_000;
    expect((await refusal()).code).toBe(code);
    expect(h.cognitive.stsCalls(STS_HOST)).toBe(1);
    h.cognitive.script(STS_HOST, { ...behaviour, times: 0 });
    h.clock.now = T0 + 60_000;
    expect((await token()).status).toBe(200);
    expect(h.cognitive.stsCalls(STS_HOST)).toBe(2);
  });

  it('a Retry-After under the minute is honoured as it is', async () => {
    h.cognitive.script(STS_HOST, { status: 429, retryAfterSeconds: 30 });
    expect(await refusal()).toEqual({ status: 503, code: 'sts_throttled', header: '30', body: 30 });
    h.cognitive.script(STS_HOST, { status: 429, times: 0 });
    h.clock.now = T0 + 29_000;
    expect((await token()).status).toBe(503);
    h.clock.now = T0 + 30_000;
    expect((await token()).status).toBe(200);
  });
});

describe('Key Vault', () => {
  const reads = () => h.vault.requests.byName['speech-key'] ?? 0;

  it.each([
    ['503, Retry-After: 3600', 503, 'ServiceUnavailable', { 'Retry-After': '3600' }, 'keyvault_unavailable'],
    ['429, Retry-After: 3600', 429, 'Throttled', { 'Retry-After': '3600' }, 'keyvault_throttled'],
    [
      '429, Retry-After: a date an hour ahead',
      429,
      'Throttled',
      { 'Retry-After': AN_HOUR_AHEAD },
      'keyvault_throttled',
    ],
    ['429, x-ms-retry-after-ms: 3600000', 429, 'Throttled', { 'x-ms-retry-after-ms': '3600000' }, 'keyvault_throttled'],
    [
      '503, retry-after-ms: 3600000',
      503,
      'ServiceUnavailable',
      { 'retry-after-ms': '3600000' },
      'keyvault_unavailable',
    ],
  ])('%s: at once, callers are told 60 s, and the secret is held 60 s', async (_, status, vaultCode, headers, code) => {
    h.vault.answerSecret('speech-key', {
      status,
      code: vaultCode,
      message: 'Retry the request after some time.',
      headers,
    });
    expect(await refusal()).toEqual({ status: 503, code, header: '60', body: 60 });
    const readsThen = reads();
    h.clock.now = T0 + 59_000;
    expect((await refusal()).code).toBe(code);
    expect(reads()).toBe(readsThen);
    h.vault.answerSecret('speech-key', 'clear');
    h.clock.now = T0 + 60_000;
    expect((await token()).status).toBe(200);
    expect(reads()).toBeGreaterThan(readsThen);
  });
});

describe('Entra', () => {
  it('discovery answering 503, Retry-After: 3600: callers are told 60 s, and discovery is asked again after 60 s, not an hour (nor 5 s)', async () => {
    h.entra.failEndpoint('discovery', { status: 503, retryAfter: '3600' });
    expect(await refusal()).toEqual({ status: 503, code: 'identity_provider_unavailable', header: '60', body: 60 });
    h.clock.now = T0 + 30_000;
    // What remains of the hold.
    expect(await refusal()).toEqual({ status: 503, code: 'identity_provider_unavailable', header: '30', body: 30 });
    h.clock.now = T0 + 59_000;
    expect((await token()).status).toBe(503);
    expect(h.entra.requests.discovery).toBe(1);
    h.entra.recoverEndpoint('discovery');
    h.clock.now = T0 + 60_000;
    expect((await token()).status).toBe(200);
    expect(h.entra.requests.discovery).toBe(2);
  });

  it.each([
    ['429, Retry-After: 3600', { status: 429, retryAfter: '3600' }],
    ['503, Retry-After: a date an hour ahead', { status: 503, retryAfter: AN_HOUR_AHEAD }],
  ])(
    'the key set answering %s before any was fetched: callers are told 60 s, and it is fetched again after 60 s',
    async (_, failure) => {
      h.entra.failEndpoint('jwks', failure);
      expect(await refusal()).toEqual({ status: 503, code: 'identity_provider_unavailable', header: '60', body: 60 });
      h.clock.now = T0 + 59_000;
      expect((await token()).status).toBe(503);
      expect(h.entra.requests.jwks).toBe(1);
      h.entra.recoverEndpoint('jwks');
      h.clock.now = T0 + 60_000;
      expect((await token()).status).toBe(200);
      expect(h.entra.requests.jwks).toBe(2);
    },
  );
});
