import type { InvocationContext } from '@azure/functions';
import type { Schedule } from '../config/schedule.js';
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
  return [];
}
