import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { startScheduler } from '../../devstack/host/scheduler.js';
import { parseSchedule } from '../../src/config/schedule.js';
import { describeError } from '../../src/errors/serviceError.js';
import type { TimerFunction } from '../../src/functions/timers.js';
import { Logger } from '../../src/log/logger.js';

function everySecond(): TimerFunction['schedule'] {
  const check = parseSchedule('* * * * * *');
  if (!check.ok) throw new Error(check.problem);
  return check.schedule;
}

describe('the local host runs timer functions on their schedule', () => {
  it('runs each on time with a fresh invocation, keeps going after a failure, and stops', async () => {
    const runs: string[] = [];
    const lines: string[] = [];
    let failing = true;
    const timers: TimerFunction[] = [
      {
        name: 'flaky',
        schedule: everySecond(),
        run: (context) => {
          runs.push(context.invocationId);
          if (failing) {
            failing = false;
            return Promise.reject(new Error('first run fails'));
          }
          return Promise.resolve();
        },
      },
    ];
    const scheduler = startScheduler({
      timers,
      app: { InvocationContext, Logger, describeError },
      sink: (_, line) => lines.push(line),
    });
    try {
      // Bounded: two runs of an every-second schedule take at most a little over two seconds.
      await expect.poll(() => runs.length, { timeout: 5000, interval: 50 }).toBeGreaterThanOrEqual(2);
    } finally {
      scheduler.stop();
    }
    const count = runs.length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(runs.length).toBe(count);
    expect(new Set(runs).size).toBe(runs.length);
    expect(lines.some((l) => l.includes('"event":"timer_failed"') && l.includes('"timer":"flaky"'))).toBe(true);
  });
});
