import { Cron } from 'croner';
import type { Schedule } from '../model.js';

export type { Schedule } from '../model.js';

export type ScheduleCheck = { ok: true; schedule: Schedule } | { ok: false; problem: string };

function newCron(expression: string): Cron {
  // A fixed offset of 0 is UTC without `timezone: 'UTC'`, whose Intl set-up would cost a start-up
  // that parses a schedule some 15 ms.
  return new Cron(expression.trim(), { mode: '6-part', utcOffset: 0, paused: true });
}

/**
 * A schedule known to be valid (a default, which a test parses), not checked again at start-up:
 * croner's set-up then waits for the first `nextAfter`, which only the local host's scheduler asks
 * (Azure reads the expression itself). Keeps every cold start of a default configuration from
 * paying for it.
 */
export function knownSchedule(expression: string): Schedule {
  let cron: Cron | undefined;
  return {
    expression,
    nextAfter: (ms) => {
      cron ??= newCron(expression);
      return cron.nextRun(new Date(ms))?.getTime();
    },
  };
}

/**
 * Parses an NCRONTAB expression ("0 *\/5 * * * *": second minute hour day month day-of-week), as the
 * timer trigger takes it (Azure Functions timer trigger reference, "NCRONTAB expressions"). Five or
 * seven fields are refused: Functions would not index the function.
 */
export function parseSchedule(expression: string): ScheduleCheck {
  let cron: Cron;
  try {
    cron = newCron(expression);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    return {
      ok: false,
      problem: `"${expression}" is not an NCRONTAB schedule (${reason}); give six fields, seconds first, e.g. "0 */5 * * * *" for every 5 minutes`,
    };
  }
  return {
    ok: true,
    schedule: {
      expression: expression.trim(),
      nextAfter: (ms) => cron.nextRun(new Date(ms))?.getTime(),
    },
  };
}
