import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectNoKeys, startHarness, type Harness } from '../support/harness.js';

// "Time budget": the STS exchange is bounded by its 12 s budget (docs/architecture.md), whatever
// the STS does: an answer's body is read under the same deadline as its headers, and the last
// attempt gets only what remains of the budget.

let h: Harness | undefined;
afterEach(async () => {
  if (h !== undefined) {
    expectNoKeys(h.logText());
    await h.close();
  }
  h = undefined;
});

const STS_HOST = 'japanwest.api.cognitive.microsoft.com';

async function token(harness: Harness) {
  return harness.call('GET', '/api/token/speech', { authorization: `Bearer ${await harness.callerToken()}` });
}

describe('the STS time budget', () => {
  it('an STS that sends its headers, then one byte every 50 ms: each attempt ends at its limit and the body read is cancelled', async () => {
    h = await startHarness({ dependencies: { stsAttemptTimeoutMs: 300 } });
    h.cognitive.script(STS_HOST, { drip: { intervalMs: 50 } });
    const answer = await token(h);
    expect(answer.status).toBe(504);
    expect(answer.json).toMatchObject({ code: 'sts_timeout', retryAfterSeconds: 5 });
    expect(h.cognitive.stsCalls(STS_HOST)).toBe(3);
    expect(String(h.events('request').at(-1)?.diagnosis)).toContain('no answer within 300 ms');
    // The client hung up on every dripping answer rather than reading on in the background.
    await vi.waitFor(() => expect(h?.cognitive.openDrips()).toBe(0), { timeout: 5000, interval: 20 });
  });

  it('20 callers of an STS that fails slowly and then hangs: one exchange, whose last attempt gets what remains of the 12 s', async () => {
    // Each STS answer comes 5775 ms (on the fake clock) after its call; the backoffs (random 0.5)
    // are 125 and 250 ms. Attempts 1 and 2 end at 5.9 s and 11.675 s with a 503, and the third may
    // take only the 75 ms left, not 5 s (which would have held the callers for 16.9 s).
    const slow: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!url.startsWith('https://')) return fetch(input, init);
      if (h === undefined) throw new Error('no harness');
      const current = h;
      return current.cognitive.fetch(input, init).then((response) => {
        if (url.includes('/sts/')) current.clock.now += 5775;
        return response;
      });
    };
    const harness = await startHarness({ dependencies: { fetch: slow, stsAttemptTimeoutMs: 5000 } });
    h = harness;
    harness.cognitive.script(STS_HOST, { status: 503, times: 2 });
    harness.cognitive.script('*', { hang: true });
    const bearer = `Bearer ${await harness.callerToken()}`;
    const started = harness.clock.now;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => harness.call('GET', '/api/token/speech', { authorization: bearer })),
    );
    expect(answers.map((a) => [a.status, (a.json as { code?: string }).code])).toEqual(
      Array.from({ length: 20 }, () => [504, 'sts_timeout']),
    );
    expect(harness.cognitive.stsCalls(STS_HOST)).toBe(3);
    expect(harness.clock.now - started).toBe(5775 + 125 + 5775 + 250);
    const diagnoses = new Set(harness.events('request').map((line) => String(line.diagnosis)));
    expect([...diagnoses]).toEqual([expect.stringContaining('no answer within 75 ms')]);
  });
});
