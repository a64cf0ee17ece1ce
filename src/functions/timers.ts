import type { InvocationContext } from '@azure/functions';
import type { Schedule } from '../config/schedule.js';
import { Logger } from '../log/logger.js';
import { runSelfCheck } from '../operations/selfCheck.js';
import type { Runtime } from '../runtime.js';

/** A timer-triggered function: registered with app.timer in Azure and run by the local host's scheduler. */
export interface TimerFunction {
  readonly name: string;
  readonly schedule: Schedule;
  /** Never throws: a failure is the function's own to log. */
  readonly run: (context: InvocationContext) => Promise<void>;
}

/**
 * The one timer table. Empty while the configuration is invalid: the schedules come from the
 * settings, and the problems were logged at start-up.
 */
export function createTimers(runtime: Runtime): TimerFunction[] {
  if (!runtime.ok) return [];
  const { parts } = runtime;
  return [
    {
      name: 'self-check',
      schedule: parts.config.operations.selfCheckSchedule,
      run: async (context) => {
        const { invocationId } = context;
        const logger = new Logger((level, line) => context[level](line), { invocationId, timer: 'self-check' });
        await runSelfCheck(parts, logger, {
          invocationId,
          correlationId: invocationId,
          traceParent: context.traceContext?.traceParent ?? undefined,
        });
      },
    },
  ];
}
