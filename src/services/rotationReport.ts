import type { RotationOutcome } from '../rotation/keyRotation.js';
import { NO_CODE } from '../telemetry/names.js';
import type { Telemetry } from '../telemetry/telemetry.js';

/**
 * The `key_rotations` metric for a rotation run: one count per resource rotated or failed (a
 * skipped one, not yet due, counts nothing). The `key_rotated` and `key_rotation_failed` log
 * lines are the rotation's own; the rotation-failed alert reads both.
 */
export function reportRotation(telemetry: Pick<Telemetry, 'count'>, outcomes: readonly RotationOutcome[]): void {
  for (const outcome of outcomes) {
    // A skip (nothing due) or a dry run's plan changed nothing: only what happened is counted.
    if (outcome.action !== 'rotated' && outcome.action !== 'repaired' && outcome.action !== 'failed') continue;
    telemetry.count('key_rotations', {
      resource: outcome.resource,
      outcome: outcome.action,
      code: outcome.code ?? NO_CODE,
    });
  }
}
