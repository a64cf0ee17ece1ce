import { parseOrigin } from '../http/urls.js';
import { ROTATION_MARGIN_MS, type RotationConfig, type TokenResource } from '../model.js';
import type { ReadSetting } from './appSettings.js';
import type { SettingsReport } from './problems.js';
import { knownSchedule, parseSchedule } from './schedule.js';

/** Every 6 hours, on the hour (00:00, 06:00, 12:00, 18:00 UTC). */
export const DEFAULT_KEY_ROTATION_SCHEDULE = '0 0 */6 * * *';
export const DEFAULT_SECRET_MAX_AGE_MINUTES = 60;
const MAX_KEY_ROTATION_DAYS = 365;
const MAX_SECRET_MAX_AGE_MINUTES = 1440;

/** `SECRET_MAX_AGE_MINUTES`: how long an instance uses a secret version before reading it again. */
export function readSecretMaxAgeMinutes(setting: ReadSetting, report: SettingsReport): number {
  const raw = setting('SECRET_MAX_AGE_MINUTES');
  if (raw === undefined) return DEFAULT_SECRET_MAX_AGE_MINUTES;
  const minutes = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (minutes >= 1 && minutes <= MAX_SECRET_MAX_AGE_MINUTES) return minutes;
  report.problem(
    'SECRET_MAX_AGE_MINUTES',
    `must be a whole number of minutes from 1 to ${MAX_SECRET_MAX_AGE_MINUTES} (how long an instance uses a secret version before reading it again; default ${DEFAULT_SECRET_MAX_AGE_MINUTES}), not "${raw}"`,
  );
  return DEFAULT_SECRET_MAX_AGE_MINUTES;
}

/**
 * The rotation settings (`KEY_ROTATION_DAYS`, `KEY_ROTATION_SCHEDULE`, `ARM_ENDPOINT`), and what
 * they require of the resources: a period long enough that no instance can still hold the key it
 * regenerates, and at least one resource to rotate.
 */
export function readRotation(
  setting: ReadSetting,
  report: SettingsReport,
  resources: readonly TokenResource[],
  secretMaxAgeMinutes: number,
): RotationConfig {
  let periodDays = 0;
  const days = setting('KEY_ROTATION_DAYS');
  if (days !== undefined) {
    const value = /^\d+$/.test(days) ? Number(days) : Number.NaN;
    if (value >= 0 && value <= MAX_KEY_ROTATION_DAYS) periodDays = value;
    else
      report.problem(
        'KEY_ROTATION_DAYS',
        `must be a whole number of days from 1 to ${MAX_KEY_ROTATION_DAYS} (0 or unset turns scheduled rotation off), not "${days}"`,
      );
  }

  const expression = setting('KEY_ROTATION_SCHEDULE') ?? DEFAULT_KEY_ROTATION_SCHEDULE;
  let schedule = knownSchedule(DEFAULT_KEY_ROTATION_SCHEDULE);
  if (expression !== DEFAULT_KEY_ROTATION_SCHEDULE) {
    const parsed = parseSchedule(expression);
    if (parsed.ok) schedule = parsed.schedule;
    else report.problem('KEY_ROTATION_SCHEDULE', parsed.problem);
  }

  let armEndpoint: string | null = null;
  const arm = setting('ARM_ENDPOINT');
  if (arm !== undefined) {
    const checked = parseOrigin(arm);
    if (!checked.ok) report.problem('ARM_ENDPOINT', checked.problem);
    // The bearer token policy refuses to send a token over plain http, loopback included.
    else if (!checked.origin.startsWith('https:'))
      report.problem(
        'ARM_ENDPOINT',
        'must use https, even on loopback (no Azure client sends a bearer token over http)',
      );
    else armEndpoint = checked.origin;
  }

  if (periodDays > 0) {
    if (!resources.some((r) => r.resourceId !== null) && resources.length > 0) {
      report.problem(
        'KEY_ROTATION_DAYS',
        'is set, but no resource in TOKEN_RESOURCES has a "resourceId", so nothing would be rotated: give each resource to rotate the ARM ID of its account, or set KEY_ROTATION_DAYS to 0',
      );
    }
    if (secretMaxAgeMinutes * 60_000 + ROTATION_MARGIN_MS > periodDays * 86_400_000) {
      report.problem(
        'SECRET_MAX_AGE_MINUTES',
        `(${secretMaxAgeMinutes}) plus ${ROTATION_MARGIN_MS / 60_000} minutes must be shorter than KEY_ROTATION_DAYS (${periodDays}): a key is regenerated one period after it was replaced, and instances may hold it for SECRET_MAX_AGE_MINUTES`,
      );
    }
  }
  return { periodDays, schedule, armEndpoint };
}
