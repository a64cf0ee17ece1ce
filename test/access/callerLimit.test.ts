/** `callerLimitPerMinute`: a resource's own per-caller limit, on top of RATE_LIMIT_PER_MINUTE, at the wire. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectNoKeys, REALTIME_RESOURCES, RESOURCES, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
  expectNoKeys(h.logText());
});

function withLimits(limits: Record<string, number>, global = '0'): void {
  h.rebuild({
    RATE_LIMIT_PER_MINUTE: global,
    TOKEN_RESOURCES: JSON.stringify(
      [...RESOURCES, ...REALTIME_RESOURCES].map((resource) =>
        limits[resource.name] === undefined ? resource : { ...resource, callerLimitPerMinute: limits[resource.name] },
      ),
    ),
  });
}

const token = (oid: string) => h.callerToken({ oid, roles: ['Assistant.Talk', 'Speech.Token'], scp: undefined });
const ask = async (resource: string, oid: string) =>
  h.call('GET', `/api/token/${resource}`, { authorization: `Bearer ${await token(oid)}` });
const statuses = async (resource: string, oid: string, times: number) => {
  const seen: number[] = [];
  for (let i = 0; i < times; i++) seen.push((await ask(resource, oid)).status);
  return seen;
};

describe('callerLimitPerMinute', () => {
  it('refuses a caller over its resource’s limit with 429 rate_limited and Retry-After, minting nothing', async () => {
    withLimits({ assistant: 2 });
    expect(await statuses('assistant', 'a', 2)).toEqual([200, 200]);
    const over = await ask('assistant', 'a');
    expect(over.status).toBe(429);
    expect(over.json).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 30 });
    expect(over.headers['retry-after']).toBe('30');
    expect((over.json as { detail: string }).detail).toContain('limit 2 per minute');
    expect(h.openai.mints).toHaveLength(2);
    expect(h.events('request').at(-1)).toMatchObject({
      code: 'rate_limited',
      diagnosis: expect.stringContaining('for "assistant" (its callerLimitPerMinute)'),
    });
  });

  it('counts each caller on its own, and leaves the other resources to RATE_LIMIT_PER_MINUTE', async () => {
    withLimits({ assistant: 1 });
    expect(await statuses('assistant', 'a', 2)).toEqual([200, 429]);
    expect(await statuses('assistant', 'b', 1)).toEqual([200]);
    expect(await statuses('speech', 'a', 5)).toEqual([200, 200, 200, 200, 200]);
  });

  it('refills over the minute', async () => {
    withLimits({ assistant: 2 });
    expect(await statuses('assistant', 'a', 3)).toEqual([200, 200, 429]);
    h.clock.now += 30_000;
    expect(await statuses('assistant', 'a', 2)).toEqual([200, 429]);
  });

  it('works for an STS kind too, and RATE_LIMIT_PER_MINUTE still counts every request first', async () => {
    withLimits({ speech: 1 }, '3');
    expect(await statuses('speech', 'a', 2)).toEqual([200, 429]);
    // The global allowance took both requests above: one more, then none, whatever the resource.
    expect(await statuses('assistant', 'a', 2)).toEqual([200, 429]);
    expect((await ask('assistant', 'a')).json).toMatchObject({ detail: expect.stringContaining('limit 3 per minute') });
  });

  it('is refused at start-up unless a whole number of 0 or more; 0 means none of its own', async () => {
    for (const bad of [-1, 1.5, '6']) {
      withLimits({ assistant: bad as number });
      expect(h.services.configurationError?.problems.map((p) => p.message).join('\n')).toMatch(
        /"callerLimitPerMinute"/,
      );
    }
    withLimits({ assistant: 0 });
    expect(await statuses('assistant', 'a', 3)).toEqual([200, 200, 200]);
  });
});
