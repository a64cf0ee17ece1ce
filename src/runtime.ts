import { ConfigurationError, formatProblem, loadConfig, type Environment } from './config/settings.js';
import { Logger, type LogSink } from './log/logger.js';
import { VendingService, type VendingDependencies } from './vendingService.js';

/** The service built from settings, or why it could not be: the routes answer either way. */
export type Runtime =
  | { readonly ok: true; readonly service: VendingService }
  | { readonly ok: false; readonly error: ConfigurationError };

export function createRuntime(env: Environment, dependencies: VendingDependencies = {}): Runtime {
  try {
    return { ok: true, service: new VendingService(loadConfig(env), dependencies) };
  } catch (error) {
    if (error instanceof ConfigurationError) return { ok: false, error };
    throw error;
  }
}

/** Every configuration problem as its own log line, so each one is searchable in the function logs. */
export function logConfigurationError(error: ConfigurationError, sink: LogSink): void {
  const logger = new Logger(sink);
  for (const problem of error.problems) {
    logger.error('configuration_invalid', {
      setting: problem.setting,
      resource: problem.resource,
      problem: formatProblem(problem),
    });
  }
}
