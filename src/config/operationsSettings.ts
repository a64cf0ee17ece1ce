import type { OperationsConfig, Schedule } from '../model.js';
import { listSetting, type ReadSetting } from './appSettings.js';
import type { SettingsReport } from './problems.js';
import { knownSchedule, parseSchedule } from './schedule.js';

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 60;
export const DEFAULT_OPERATOR_ROLES = ['TokenVending.Operator'] as const;
/** Every 5 minutes, at second 0. */
export const DEFAULT_SELF_CHECK_SCHEDULE = '0 */5 * * * *';
/** The self-check calls Key Vault and the Speech service; more often than this is load, not watching. */
const MIN_SELF_CHECK_INTERVAL_MS = 60_000;
/** An Entra app role value: no spaces (or commas, which separate them here), not starting with a dot. */
const APP_ROLE = /^(?!\.)[\x21-\x2b\x2d-\x7e]{1,120}$/;

/** `RATE_LIMIT_PER_MINUTE`: token requests per caller per minute on one instance; 0 turns it off. */
export function readRateLimit(setting: ReadSetting, report: SettingsReport): number {
  const rateLimit = setting('RATE_LIMIT_PER_MINUTE');
  if (rateLimit === undefined) return DEFAULT_RATE_LIMIT_PER_MINUTE;
  if (/^\d+$/.test(rateLimit)) return Number(rateLimit);
  report.problem(
    'RATE_LIMIT_PER_MINUTE',
    `must be a whole number of requests per caller per minute (0 turns the limit off), not "${rateLimit}"`,
  );
  return DEFAULT_RATE_LIMIT_PER_MINUTE;
}

/** What operators get (`OPERATOR_ROLES`, `SELF_CHECK_SCHEDULE`). */
export function readOperations(setting: ReadSetting, report: SettingsReport): OperationsConfig {
  const roles = listSetting(setting('OPERATOR_ROLES'));
  const badRoles = roles.filter((role) => !APP_ROLE.test(role));
  if (badRoles.length > 0)
    report.problem(
      'OPERATOR_ROLES',
      `must be app role values separated by commas (no spaces inside a value, not starting with ".", at most 120 characters), not ${badRoles.map((r) => `"${r}"`).join(', ')}`,
    );
  const expression = setting('SELF_CHECK_SCHEDULE') ?? DEFAULT_SELF_CHECK_SCHEDULE;
  let selfCheckSchedule = knownSchedule(DEFAULT_SELF_CHECK_SCHEDULE);
  if (expression !== DEFAULT_SELF_CHECK_SCHEDULE) {
    const parsed = parseSchedule(expression);
    const shortest = parsed.ok ? shortestInterval(parsed.schedule) : undefined;
    if (!parsed.ok) report.problem('SELF_CHECK_SCHEDULE', parsed.problem);
    else if (shortest === undefined)
      report.problem(
        'SELF_CHECK_SCHEDULE',
        `"${expression}" never fires; give e.g. "${DEFAULT_SELF_CHECK_SCHEDULE}" (every 5 minutes)`,
      );
    else if (shortest < MIN_SELF_CHECK_INTERVAL_MS)
      report.problem(
        'SELF_CHECK_SCHEDULE',
        `"${expression}" fires more than once a minute; each run calls Key Vault and the Speech service, so give at least a minute between runs, e.g. "${DEFAULT_SELF_CHECK_SCHEDULE}"`,
      );
    else selfCheckSchedule = parsed.schedule;
  }
  return { operatorRoles: roles.length > 0 ? roles : [...DEFAULT_OPERATOR_ROLES], selfCheckSchedule };
}

/** The shortest gap between the next few runs (a cron's gaps vary), or undefined when it never fires. */
export function shortestInterval(schedule: Schedule): number | undefined {
  // A fixed instant: the gaps of a cron expression do not depend on when they are measured from.
  let previous = schedule.nextAfter(Date.UTC(2026, 0, 1));
  if (previous === undefined) return undefined;
  let shortest = Infinity;
  for (let run = 0; run < 24; run++) {
    const next = schedule.nextAfter(previous);
    if (next === undefined) break;
    shortest = Math.min(shortest, next - previous);
    previous = next;
  }
  return shortest;
}
