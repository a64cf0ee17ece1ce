import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENTS } from '../../src/telemetry/names.js';
import { expectNoKeys, type Harness } from '../support/harness.js';
import {
  EAST_KEY,
  EAST_STS,
  endOutage,
  speechToken,
  startFailoverHarness,
  stsCalls,
  voicesListStatus,
  WEST_STS,
} from './support.js';

// `speech` (japanwest) with a fallback in japaneast, at the wire: the STS fake fails, hangs or
// refuses the primary's host while the real flow serves callers.

let h: Harness;
afterEach(async () => {
  await h.close();
  expectNoKeys(h.logText(), [EAST_KEY]);
});

const quota = '{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 2.03:04:05." }';

describe('serving: the primary while it can, the fallback within the same request', () => {
  it('an STS outage of the primary under continuous requests: none fails, each token opens its own endpoints', async () => {
    h = await startFailoverHarness();
    const answers = [];
    // 40 requests 30 s apart (20 minutes): the outage starts at the 8th and ends at the 30th.
    for (let i = 0; i < 40; i++) {
      if (i === 8) h.cognitive.script(WEST_STS, { status: 503 });
      if (i === 30) endOutage(h, WEST_STS);
      const answer = await speechToken(h);
      expect(await voicesListStatus(h, answer), `request ${i} (${answer.region ?? ''})`).toBe(200);
      answers.push(answer);
      h.clock.now += 30_000;
    }
    const regions = answers.map((a) => a.region);
    expect(regions.slice(0, 8).every((r) => r === 'japanwest')).toBe(true);
    expect(regions).toContain('japaneast');
    // The primary's token lasts about 9 minutes after the outage began; the fallback serves after that.
    expect(regions.slice(26, 30).every((r) => r === 'japaneast')).toBe(true);
    // Back on the primary once it answers again (the next due probe, within the backoff's cap).
    expect(regions.at(-1)).toBe('japanwest');
    expect(answers.every((a) => a.resource === 'speech')).toBe(true);
    const changes = h.events(EVENTS.failoverServingChanged);
    expect(changes.map((c) => [c.previous, c.member])).toEqual([
      ['speech', 'speech.failover[0]'],
      ['speech.failover[0]', 'speech'],
    ]);
    expect(changes[0]).toMatchObject({ resource: 'speech', code: 'sts_unavailable' });
  });

  it('a quota refusal from the first request: the fallback answers it, and the change is logged once with why', async () => {
    h = await startFailoverHarness();
    h.cognitive.script(WEST_STS, { status: 403, body: quota });
    const first = await speechToken(h);
    expect(first.region).toBe('japaneast');
    expect(first.endpoints.stt).toBe('wss://japaneast.stt.speech.microsoft.com');
    expect(await voicesListStatus(h, first)).toBe(200);
    await speechToken(h);
    expect(stsCalls(h, WEST_STS)).toBe(1);
    expect(stsCalls(h, EAST_STS)).toBe(1);
    const [change, ...more] = h.events(EVENTS.failoverServingChanged);
    expect(more).toEqual([]);
    expect(change).toMatchObject({ member: 'speech.failover[0]', previous: 'speech', code: 'quota_exceeded' });
    expect(h.events(EVENTS.failoverMemberFailed)).toMatchObject([{ member: 'speech', code: 'quota_exceeded' }]);
    // A request that succeeds writes no request line, failover or not.
    expect(h.events('request')).toEqual([]);
  });

  it('a hanging primary: one attempt times out, then the fallback answers the same request', async () => {
    h = await startFailoverHarness({ stsAttemptTimeoutMs: 300 });
    h.cognitive.script(WEST_STS, { hang: true });
    const answer = await speechToken(h);
    expect(answer.region).toBe('japaneast');
    expect(stsCalls(h, WEST_STS)).toBe(1);
    expect(h.events(EVENTS.failoverMemberFailed)).toMatchObject([{ member: 'speech', code: 'sts_timeout' }]);
    // Later requests do not wait on the primary again.
    h.clock.now += 100;
    expect((await speechToken(h)).region).toBe('japaneast');
    expect(stsCalls(h, WEST_STS)).toBe(1);
  });

  it('recovery: the primary is probed in the background after a backoff, and new tokens come from it again', async () => {
    h = await startFailoverHarness();
    h.cognitive.script(WEST_STS, { status: 502 });
    expect((await speechToken(h)).region).toBe('japaneast');
    // Requests before the probe is due leave the primary alone.
    for (let i = 0; i < 5; i++) await speechToken(h);
    expect(stsCalls(h, WEST_STS)).toBe(1);
    endOutage(h, WEST_STS);
    h.clock.now += 1000;
    // This request is served by the fallback and starts one probe, which it does not wait for.
    expect((await speechToken(h)).region).toBe('japaneast');
    await vi.waitFor(() => expect(h.events(EVENTS.failoverMemberRecovered)).toHaveLength(1));
    const back = await speechToken(h);
    expect(back.region).toBe('japanwest');
    expect(await voicesListStatus(h, back)).toBe(200);
    expect(stsCalls(h, WEST_STS)).toBe(2);
    expect(h.events(EVENTS.failoverServingChanged).map((c) => c.member)).toEqual(['speech.failover[0]', 'speech']);
  });

  it('a failed probe backs off: one probe at a time, the waits doubling up to the cap', async () => {
    h = await startFailoverHarness();
    h.cognitive.script(WEST_STS, { status: 503 });
    await speechToken(h);
    const probes = [];
    for (let second = 0; second < 30; second++) {
      h.clock.now += 1000;
      // Concurrent requests at the moment a probe is due start one probe between them.
      await Promise.all([speechToken(h), speechToken(h), speechToken(h)]);
      await vi.waitFor(() =>
        expect(h.parts.failover.view(h.parts.config.resources[0]!)?.members[0]?.nextProbeAt).toBeGreaterThan(
          h.clock.now,
        ),
      );
      probes.push(stsCalls(h, WEST_STS));
    }
    // 1 s, 2 s, 4 s, then 8 s apart (jitter 0.5: three quarters of each): about 6 in 30 s, not 30 or 90.
    expect(probes.at(-1)).toBeGreaterThanOrEqual(5);
    expect(probes.at(-1)).toBeLessThanOrEqual(8);
  });

  it("all members down: the primary's own code at once, without calling either STS again", async () => {
    h = await startFailoverHarness();
    h.cognitive.script(WEST_STS, { status: 403, body: quota });
    h.cognitive.script(EAST_STS, { status: 503 });
    const caller = `Bearer ${await h.callerToken()}`;
    const first = await h.call('GET', '/api/token/speech', { authorization: caller });
    expect(first.status).toBe(503);
    expect(first.json).toMatchObject({ code: 'quota_exceeded' });
    const calls = h.cognitive.calls.length;
    const second = await h.call('GET', '/api/token/speech', { authorization: caller });
    expect(second.json).toMatchObject({ code: 'quota_exceeded' });
    expect(h.cognitive.calls.length).toBe(calls);
    // The fallback's own failure is in the log, once.
    expect(h.events(EVENTS.failoverMemberFailed).map((e) => [e.member, e.code])).toEqual([
      ['speech', 'quota_exceeded'],
      ['speech.failover[0]', 'sts_unavailable'],
    ]);
  });

  it('two concurrent requests during the switch: one exchange at each member, not two', async () => {
    h = await startFailoverHarness();
    h.cognitive.script(WEST_STS, { status: 503 });
    const caller = await h.callerToken();
    const [a, b] = await Promise.all([speechToken(h, caller), speechToken(h, caller)]);
    expect([a.region, b.region]).toEqual(['japaneast', 'japaneast']);
    expect(a.accessToken).toBe(b.accessToken);
    expect(stsCalls(h, WEST_STS)).toBe(1);
    expect(stsCalls(h, EAST_STS)).toBe(1);
    expect(h.events(EVENTS.failoverServingChanged)).toHaveLength(1);
    expect(h.events(EVENTS.failoverMemberFailed)).toHaveLength(1);
  });

  it('a caller error never fails over: no role is 403, and neither STS is asked', async () => {
    h = await startFailoverHarness();
    const stranger = await h.callerToken({ roles: ['Other'], scp: undefined });
    const refused = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${stranger}` });
    expect(refused.status).toBe(403);
    expect(h.cognitive.calls).toEqual([]);
  });

  it("the primary's key refused and its secret missing: each fails over, named in the log", async () => {
    h = await startFailoverHarness();
    h.vault.setSecret('speech-key', EAST_KEY);
    expect((await speechToken(h)).region).toBe('japaneast');
    expect(h.events(EVENTS.failoverMemberFailed)).toMatchObject([{ member: 'speech', code: 'key_rejected' }]);

    h.rebuild();
    h.vault.deleteSecret('speech-key');
    expect((await speechToken(h)).region).toBe('japaneast');
    expect(h.events(EVENTS.failoverMemberFailed).at(-1)).toMatchObject({ member: 'speech', code: 'secret_not_found' });
  });
});
