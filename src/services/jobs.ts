import type { Parts } from '../composition.js';
import { describeError } from '../errors/serviceError.js';
import type { Logger } from '../log/logger.js';
import type { Schedule } from '../model.js';
import { EVENTS } from '../telemetry/names.js';
import type { RequestCorrelation } from '../telemetry/telemetry.js';
import { reportRotation } from './rotationReport.js';
import { runSelfCheck } from './selfCheck.js';

/** What one run of a scheduled job is given by its trigger. */
export interface JobRun {
  /** The trigger's logger, carrying its invocation id. */
  readonly logger: Logger;
  readonly correlation: RequestCorrelation;
}

/** Work the app does on a schedule; `functions/timers.ts` registers each as a timer function. */
export interface ScheduledJob {
  readonly name: string;
  readonly schedule: Schedule;
  /** Never throws: a failure is the job's own to log. */
  run(run: JobRun): Promise<void>;
}

/** The app's scheduled jobs: the self-check, and key rotation while KEY_ROTATION_DAYS is set. */
export function createJobs(parts: Parts): ScheduledJob[] {
  return [selfCheckJob(parts), ...keyRotationJob(parts)];
}

/**
 * `self-check`, every SELF_CHECK_SCHEDULE: every resource through its kind's probe, a shared
 * credential taken from the cache, `resource_health` logged per resource (`selfCheck.ts`).
 */
function selfCheckJob(parts: Parts): ScheduledJob {
  return {
    name: 'self-check',
    schedule: parts.config.operations.selfCheckSchedule,
    run: async ({ logger, correlation }) => {
      await runSelfCheck(parts, logger, correlation);
    },
  };
}

/**
 * `key-rotation`, while KEY_ROTATION_DAYS is set: every KEY_ROTATION_SCHEDULE it rotates the keys
 * that are due, repairs a secret that holds a key its account no longer has, and finishes a
 * `--leaked` rotation that was interrupted. In Azure only one instance runs a timer at a time (the
 * host's own blob lease); beyond that, each resource's work holds the account's rotation lease,
 * shared with `npm run rotate` anywhere, and one held elsewhere is skipped until the next tick. A
 * run that finds nothing to do costs one Key Vault read and one token exchange per resource.
 * Outcomes go to the log (`key_rotated`, `key_rotation_failed`, `key_rotation_incomplete`), which
 * the rotation writes itself, and to the `key_rotations` metric.
 */
function keyRotationJob(parts: Parts): ScheduledJob[] {
  if (parts.config.rotation.periodDays === 0) return [];
  return [
    {
      name: 'key-rotation',
      schedule: parts.config.rotation.schedule,
      run: async ({ correlation }) => {
        try {
          const outcomes = await parts.rotation.run({
            mode: 'due',
            runBy: 'timer',
            logFields: { invocationId: correlation.invocationId },
            holder: `key-rotation timer on instance ${parts.instance.id} (invocation ${correlation.invocationId})`,
          });
          reportRotation(parts.telemetry, outcomes);
        } catch (error) {
          parts.logger.error(EVENTS.keyRotationFailed, {
            invocationId: correlation.invocationId,
            code: 'rotation_failed',
            diagnosis: describeError(error),
            fix: 'Report it with this line; the next scheduled run tries again, and the key in use still works.',
          });
        }
      },
    },
  ];
}
