import type { InvocationContext } from '@azure/functions';
import type { Parts } from '../composition.js';
import type { Schedule } from '../config/schedule.js';
import { Logger } from '../log/logger.js';
import { EVENTS } from '../telemetry/names.js';
import { runSelfCheck } from '../operations/selfCheck.js';
import { reportRotation } from '../operations/rotationReport.js';
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
  return [selfCheckTimer(parts), ...keyRotationTimer(parts)];
}

/**
 * `self-check`, every SELF_CHECK_SCHEDULE: every resource through the doctor's diagnosis, the token
 * taken from the cache, `resource_health` logged per resource (operations/selfCheck.ts).
 */
function selfCheckTimer(parts: Parts): TimerFunction {
  return {
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
  };
}

/**
 * `key-rotation`, while KEY_ROTATION_DAYS is set: every KEY_ROTATION_SCHEDULE it rotates the keys
 * that are due, repairs a secret that holds a key its account no longer has, and finishes a
 * `--leaked` rotation that was interrupted. In Azure only one instance runs a timer at a time (the
 * host's own blob lease); beyond that, each resource's work holds the account's rotation lease,
 * shared with `npm run rotate` anywhere, and one held elsewhere is skipped until the next tick. A run that finds nothing to do costs one Key Vault read and one token exchange per
 * resource. Outcomes go to the log (`key_rotated`, `key_rotation_failed`, `key_rotation_incomplete`),
 * which the rotation writes itself, and to the `key_rotations` metric.
 */
function keyRotationTimer(parts: Parts): TimerFunction[] {
  if (parts.config.rotation.periodDays === 0) return [];
  return [
    {
      name: 'key-rotation',
      schedule: parts.config.rotation.schedule,
      run: async (context) => {
        try {
          const outcomes = await parts.rotation.run({
            mode: 'due',
            logFields: { invocationId: context.invocationId },
            holder: `key-rotation timer on instance ${parts.instance.id} (invocation ${context.invocationId})`,
          });
          reportRotation(parts.telemetry, outcomes);
        } catch (error) {
          parts.logger.error(EVENTS.keyRotationFailed, {
            invocationId: context.invocationId,
            code: 'rotation_failed',
            diagnosis: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
            fix: 'Report it with this line; the next scheduled run tries again, and the key in use still works.',
          });
        }
      },
    },
  ];
}
