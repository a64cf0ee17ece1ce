import type { InvocationContext } from '@azure/functions';
import { Logger } from '../log/logger.js';
import type { Schedule } from '../model.js';
import type { ScheduledJob } from '../services/jobs.js';

/** A timer-triggered function: registered with app.timer in Azure and run by the local host's scheduler. */
export interface TimerFunction {
  readonly name: string;
  readonly schedule: Schedule;
  /** Never throws: a failure is the function's own to log. */
  readonly run: (context: InvocationContext) => Promise<void>;
}

/**
 * The one timer table: each scheduled job, run with the invocation's logger and ids. Empty while
 * the configuration is invalid: the schedules come from the settings, and the problems were
 * logged at start-up.
 */
export function createTimers(jobs: readonly ScheduledJob[]): TimerFunction[] {
  return jobs.map((job) => ({
    name: job.name,
    schedule: job.schedule,
    run: async (context) => {
      const { invocationId } = context;
      const logger = new Logger((level, line) => context[level](line), { invocationId, timer: job.name });
      await job.run({
        logger,
        correlation: {
          invocationId,
          correlationId: invocationId,
          traceParent: context.traceContext?.traceParent ?? undefined,
        },
      });
    },
  }));
}
