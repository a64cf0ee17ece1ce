import { Cron } from 'croner';

/** A timer schedule as Azure Functions reads it: NCRONTAB, six fields (seconds first), in UTC. */
export interface Schedule {
  readonly expression: string;
  /** The first run strictly after `ms` (epoch ms), or `undefined` when there is none. */
  nextAfter(ms: number): number | undefined;
}

export type ScheduleCheck = { ok: true; schedule: Schedule } | { ok: false; problem: string };

/**
 * Parses an NCRONTAB expression ("0 *\/5 * * * *": second minute hour day month day-of-week), as the
 * timer trigger takes it (Azure Functions timer trigger reference, "NCRONTAB expressions"). Five or
 * seven fields are refused: Functions would not index the function.
 */
export function parseSchedule(expression: string): ScheduleCheck {
  let cron: Cron;
  try {
    cron = new Cron(expression.trim(), { mode: '6-part', timezone: 'UTC', paused: true });
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
