import type { Parts } from '../composition.js';
import type { VendingError } from '../errors.js';
import { EVENTS, NO_CODE } from '../telemetry/names.js';

/** How one rotation of one resource's key ended. */
export type RotationResult =
  | { readonly resource: string; readonly outcome: 'rotated'; readonly keyName: string }
  | { readonly resource: string; readonly outcome: 'failed'; readonly error: VendingError };

/**
 * What operators see of a key rotation: the `key_rotations` metric and the `key_rotated` or
 * `key_rotation_failed` log line (the rotation-failed alert reads both). The rotation timer calls
 * this once per resource and run; its ARM calls are timed with `telemetry.upstreamCall('arm', …)`.
 */
export function reportRotation(
  { logger, telemetry }: Pick<Parts, 'logger' | 'telemetry'>,
  result: RotationResult,
): void {
  if (result.outcome === 'rotated') {
    logger.info(EVENTS.keyRotated, { resource: result.resource, keyName: result.keyName });
    telemetry.count('key_rotations', { resource: result.resource, outcome: 'rotated', code: NO_CODE });
    return;
  }
  const { error } = result;
  logger.error(EVENTS.keyRotationFailed, {
    resource: result.resource,
    code: error.code,
    diagnosis: error.diagnosis,
    fix: error.fix,
  });
  telemetry.count('key_rotations', { resource: result.resource, outcome: 'failed', code: error.code });
}
