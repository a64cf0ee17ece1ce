import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTimers, type TimerFunction } from '../../src/functions/timers.js';
import { KEYS, expectNoKeys, startHarness, type Harness } from '../support/harness.js';

interface HealthLine {
  readonly event: string;
  readonly resource: string;
  readonly healthy: boolean;
  readonly code: string | null;
  readonly fix: string | null;
  readonly invocationId: string;
}

describe('the self-check timer', () => {
  let h: Harness;
  let lines: string[];
  beforeEach(async () => {
    h = await startHarness();
    lines = [];
  });
  afterEach(async () => {
    await h.close();
  });

  function selfCheck(): TimerFunction {
    const timer = createTimers(h.services.jobs).find((t) => t.name === 'self-check');
    if (timer === undefined) throw new Error('no self-check timer');
    return timer;
  }

  /** One run, as the host runs it; the resource_health lines it logged. */
  async function run(): Promise<HealthLine[]> {
    const from = lines.length;
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: 'self-check',
      logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
    });
    await selfCheck().run(context);
    return lines
      .slice(from)
      .map((line) => JSON.parse(line) as HealthLine)
      .filter((line) => line.event === 'resource_health');
  }

  it('is in the timer table on SELF_CHECK_SCHEDULE (every 5 minutes by default)', () => {
    expect(selfCheck().schedule.expression).toBe('0 */5 * * * *');
    h.rebuild({ SELF_CHECK_SCHEDULE: '0 */15 * * * *' });
    expect(selfCheck().schedule.expression).toBe('0 */15 * * * *');
    h.rebuild({ SELF_CHECK_SCHEDULE: 'soon' });
    expect(createTimers(h.services.jobs)).toEqual([]);
  });

  it("logs resource_health for every resource with the doctor's verdict, and adds no STS call while tokens are fresh", async () => {
    const first = await run();
    expect(first.map((l) => [l.resource, l.healthy, l.code, l.fix])).toEqual(
      ['speech', 'speech-cn', 'speech-gov', 'speech-custom', 'translator', 'multi'].map((r) => [r, true, null, null]),
    );
    expect(new Set(first.map((l) => l.invocationId)).size).toBe(1);
    const exchanges = h.cognitive.stsCalls();
    expect(exchanges).toBe(6); // the cache had nothing: one exchange per resource, as a request would make

    h.clock.now += 5 * 60_000;
    const second = await run();
    expect(second.every((l) => l.healthy)).toBe(true);
    expect(h.cognitive.stsCalls()).toBe(exchanges);
  });

  it('names the cause and the fix of an unhealthy resource, and never throws', async () => {
    h.vault.setSecret('translator-key', KEYS.speechRotated);
    h.vault.deleteSecret('multi-key');
    const results = await run();
    const of = (name: string) => results.find((l) => l.resource === name)!;
    expect(of('translator')).toMatchObject({
      healthy: false,
      code: 'key_rejected',
      fix: expect.stringContaining('--locate'),
    });
    expect(of('multi')).toMatchObject({
      healthy: false,
      code: 'secret_not_found',
      fix: expect.stringContaining('multi-key'),
    });
    expect(of('speech')).toMatchObject({ healthy: true });
    expectNoKeys(lines.join('\n'));

    // Key Vault and every STS unreachable: still one line per resource, still no throw.
    await h.vault.close();
    await h.cognitive.close();
    h.rebuild();
    const down = await run();
    expect(down).toHaveLength(6);
    expect(down.every((l) => !l.healthy && l.code !== null && l.fix !== null)).toBe(true);
  });
});
