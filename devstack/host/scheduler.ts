import type { TimerFunction } from '../../src/functions/timers.js';
import type { LogSink } from '../../src/log/logger.js';
import { contextLogHandler, type BundleExports } from './localHost.js';

export interface SchedulerOptions {
  readonly timers: readonly TimerFunction[];
  /** What the scheduler takes from the bundle, as the local host does for requests. */
  readonly app: Pick<BundleExports, 'InvocationContext' | 'Logger' | 'describeError'>;
  readonly sink: LogSink;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Runs each timer function on its schedule, as the Functions host does in Azure: one run at a
 * time per function (a run that outlasts its interval skips the runs it overlapped), each with a
 * fresh invocation id. `stop()` cancels what is pending.
 */
export function startScheduler(options: SchedulerOptions): { stop(): void } {
  const now = options.now ?? Date.now;
  const pending = new Set<NodeJS.Timeout>();
  let stopped = false;
  const { InvocationContext, Logger, describeError } = options.app;
  const logger = new Logger(options.sink);
  const contextLog = contextLogHandler(options.sink);

  const schedule = (timer: TimerFunction) => {
    const next = timer.schedule.nextAfter(now());
    if (stopped || next === undefined) return;
    const handle = setTimeout(
      () => {
        pending.delete(handle);
        const context = new InvocationContext({
          invocationId: crypto.randomUUID(),
          functionName: timer.name,
          logHandler: contextLog,
        });
        timer
          .run(context)
          .catch((error: unknown) => {
            logger.error('timer_failed', { timer: timer.name, error: describeError(error) });
          })
          .finally(() => {
            schedule(timer);
          });
      },
      Math.max(0, next - now()),
    );
    pending.add(handle);
  };

  for (const timer of options.timers) schedule(timer);
  return {
    stop() {
      stopped = true;
      for (const handle of pending) clearTimeout(handle);
      pending.clear();
    },
  };
}
