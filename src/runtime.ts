import { composeParts, type Dependencies, type Parts } from './composition.js';
import { ConfigurationError, formatProblem, loadConfig, type Environment } from './config/settings.js';
import { Logger, type LogSink } from './log/logger.js';
import { VendingService } from './vendingService.js';

/** The service built from settings, or why it could not be: the routes answer either way. */
export type Runtime =
  | { readonly ok: true; readonly parts: Parts; readonly service: VendingService }
  | { readonly ok: false; readonly error: ConfigurationError };

/** Validates the settings and composes the parts; never throws for a configuration problem. */
export function createRuntime(env: Environment, dependencies: Dependencies = {}): Runtime {
  try {
    const parts = composeParts(loadConfig(env), dependencies);
    return { ok: true, parts, service: new VendingService(parts) };
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
