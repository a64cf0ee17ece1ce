import { app } from '@azure/functions';
import { consoleSink } from '../log/logger.js';
import { createRuntime, logConfigurationError, type Runtime } from '../runtime.js';
import { acceptedMethods, createRoutes } from './routes.js';

// Built once per worker from the app settings. An invalid configuration is logged line by line
// at start-up (console output reaches the function logs) and every route then answers 503.
let runtime: Runtime | undefined;
function currentRuntime(): Runtime {
  if (runtime === undefined) {
    runtime = createRuntime(process.env);
    if (!runtime.ok) logConfigurationError(runtime.error, consoleSink);
  }
  return runtime;
}
currentRuntime();

for (const route of createRoutes(currentRuntime)) {
  // Anonymous at the platform: a browser cannot keep a function key secret; callers prove who they
  // are with an Entra token, which the handler verifies itself.
  const { name, route: template, handler } = route;
  app.http(name, { methods: [...acceptedMethods(route)], route: template, authLevel: 'anonymous', handler });
}
