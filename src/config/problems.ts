import { ServiceError } from '../errors/serviceError.js';
import type { ConfigWarning } from '../model.js';
import type { AppSettingName } from './appSettings.js';

/** One thing wrong with the settings, naming its setting (and resource); never a value that could be secret. */
export interface ConfigProblem {
  readonly setting: AppSettingName;
  readonly resource?: string;
  readonly message: string;
}

/** A problem or warning as one line: `TOKEN_RESOURCES resource "speech": …`. */
export function formatProblem(problem: ConfigProblem | ConfigWarning): string {
  const where = problem.resource === undefined ? problem.setting : `${problem.setting} resource "${problem.resource}"`;
  return `${where}: ${problem.message}`;
}

/** Every problem at once, each naming its setting; never echoes a value that could be secret. */
export class ConfigurationError extends ServiceError<'configuration_invalid'> {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      'configuration_invalid',
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
      { fix: 'Correct each setting as its problem says, then restart the app.' },
    );
  }
}

/**
 * The one reporter every settings parser writes to: problems refuse the configuration (all of them
 * are listed at once), warnings are logged at start-up and change nothing.
 */
export class SettingsReport {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  problem(setting: AppSettingName, message: string, resource?: string): void {
    this.problems.push(resource === undefined ? { setting, message } : { setting, resource, message });
  }

  warning(setting: AppSettingName, message: string, resource?: string): void {
    this.warnings.push(resource === undefined ? { setting, message } : { setting, resource, message });
  }
}
