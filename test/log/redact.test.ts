import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/doctor/diagnose.js';
import { runSelfCheck } from '../../src/services/selfCheck.js';
import { REDACTED, redactSecrets } from '../../src/log/redact.js';
import { expectNoKeys, KEYS, startHarness, type Harness } from '../support/harness.js';

// "Keys in logs": an upstream's error text may quote the key it was sent (or another). The key,
// any run of 12 or more of its characters in any case, and anything shaped like a key are taken
// out before the text reaches a diagnosis, and so a log line, the doctor, the self-check or an answer.

describe('redactSecrets', () => {
  const key = KEYS.speech;
  it.each([
    ['the key', `invalid key ${key}.`, `invalid key ${REDACTED}.`],
    ['the key in upper case', `key ${key.toUpperCase()}`, `key ${REDACTED}`],
    ['the first 20 characters of the key', `key '${key.slice(0, 20)}...'`, `key '${REDACTED}...'`],
    ['the last 12 characters of the key', `…${key.slice(-12)}`, `…${REDACTED}`],
    ['the key run into other text', `key=x${key}y`, `key=x${REDACTED}y`],
    ['another 32-hex key', `the other is ${KEYS.speechRotated}`, `the other is ${REDACTED}`],
    ['an 84-character key', `key ${KEYS.custom}!`, `key ${REDACTED}!`],
    [
      'nothing secret',
      'Access denied due to invalid subscription key.',
      'Access denied due to invalid subscription key.',
    ],
    [
      'a GUID (a request id), which is not a key',
      'request 0b1f6471-1bf0-4dda-aec3-111122223333',
      'request 0b1f6471-1bf0-4dda-aec3-111122223333',
    ],
    ['11 characters of the key: too short to be a quote', `x${key.slice(0, 11)}x`, `x${key.slice(0, 11)}x`],
  ])('%s', (_, text, redacted) => {
    expect(redactSecrets(text, [key])).toBe(redacted);
  });
});

const STS_HOST = 'japanwest.api.cognitive.microsoft.com';
const key = KEYS.speech;
/** What no output may hold: the whole key, and its first and last 12 characters. */
const quoted = [key, key.slice(0, 12), key.slice(-12), key.toUpperCase().slice(0, 12)];

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  expectNoKeys(h.logText());
  await h.close();
});

function expectNotQuoted(text: string): void {
  expectNoKeys(text);
  for (const part of quoted) expect(text).not.toContain(part);
}

const QUOTING_ANSWERS: [string, { status: number; body: string }, string][] = [
  [
    'a 401 quoting the key',
    { status: 401, body: `{"error":{"code":"401","message":"Access denied due to invalid subscription key ${key}."}}` },
    'key_rejected',
  ],
  [
    'the older 401 body quoting it in upper case',
    { status: 401, body: `{"statusCode":401,"message":"Invalid key ${key.toUpperCase()}"}` },
    'key_rejected',
  ],
  [
    'a 403 quoting its first 20 characters',
    { status: 403, body: `{"error":{"code":"403","message":"Key '${key.slice(0, 20)}…' is not allowed here."}}` },
    'sts_forbidden',
  ],
  [
    'a 400 whose code is the key',
    { status: 400, body: `{"error":{"code":"${key}","message":"Bad request."}}` },
    'sts_bad_request',
  ],
  [
    'a 503 quoting the other key',
    { status: 503, body: `{"error":{"code":"503","message":"Neither ${key} nor ${KEYS.speechRotated} works."}}` },
    'sts_unavailable',
  ],
];

describe('an STS error text quoting the key reaches no log line, finding or answer', () => {
  it.each(QUOTING_ANSWERS)('%s: the request line and the answer', async (_, answer, code) => {
    h.cognitive.script(STS_HOST, answer);
    const response = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${await h.callerToken()}` });
    expect(response.json).toMatchObject({ code });
    expectNotQuoted(response.body);
    expectNotQuoted(h.logText());
    expect(h.logText()).toContain(REDACTED);
    expectNoKeys(h.logText(), [KEYS.speechRotated]);
  });

  it('warm_up_failed, background_refresh_failed, resource_health and the doctor', async () => {
    const [, answer] = QUOTING_ANSWERS[0] ?? [];
    if (answer === undefined) throw new Error('no answer');
    h.cognitive.script(STS_HOST, answer);
    await h.services.start();
    expect(h.logText()).toContain('warm_up_failed');

    // A token in hand, then a refresh ahead of expiry that fails in the background.
    h.cognitive.script(STS_HOST, { ...answer, times: 0 });
    h.clock.now += 3000;
    const bearer = `Bearer ${await h.callerToken()}`;
    expect((await h.call('GET', '/api/token/speech', { authorization: bearer })).status).toBe(200);
    h.cognitive.script(STS_HOST, answer);
    h.clock.now += 8.5 * 60_000; // inside the refresh-ahead window
    expect((await h.call('GET', '/api/token/speech', { authorization: bearer })).status).toBe(200);
    await expect.poll(() => h.logText()).toContain('background_refresh_failed');

    h.clock.now += 2 * 60_000;
    const health = await runSelfCheck(h.parts, h.parts.logger, {
      invocationId: 'self-check',
      correlationId: 'self-check',
      traceParent: undefined,
    });
    expect(health.find((r) => r.resource === 'speech')).toMatchObject({ healthy: false, code: 'key_rejected' });
    expectNotQuoted(JSON.stringify(health));

    const findings = await diagnose(h.env, { ...h.dependencies, sleep: () => Promise.resolve() });
    expect(findings.find((f) => f.resource === 'speech')).toMatchObject({ ok: false, cause: 'key_rejected' });
    expectNotQuoted(JSON.stringify(findings));
    expectNotQuoted(h.logText());
  });
});

describe('Key Vault and ARM error texts', () => {
  it('a Key Vault refusal quoting a key', async () => {
    h.vault.answerSecret('speech-key', {
      status: 403,
      code: 'Forbidden',
      message: `The secret value ${key} may not be read by this caller.`,
    });
    const response = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${await h.callerToken()}` });
    expect(response.json).toMatchObject({ code: 'keyvault_forbidden' });
    expectNotQuoted(response.body + h.logText());
    expect(h.logText()).toContain(REDACTED);
  });
});
