import { app } from '@azure/functions';
import { createApp } from './app.js';
import { logConfigurationError } from './composition.js';
import { acceptedMethods } from './functions/routes.js';
import { consoleSink } from './log/logger.js';

// The Azure Functions entry: one app per worker, built from the app settings when the worker
// loads this bundle. An invalid configuration is logged line by line (console output reaches the
// function logs) and every route then answers 503; a valid one starts warming the caches at once.
const instance = createApp(process.env);
if (instance.services.configurationError !== undefined)
  logConfigurationError(instance.services.configurationError, consoleSink);

for (const route of instance.routes) {
  // Anonymous at the platform: a browser cannot keep a function key secret; callers prove who they
  // are with an Entra token, which the handler verifies itself.
  const { name, route: template, handler } = route;
  app.http(name, { methods: [...acceptedMethods(route)], route: template, authLevel: 'anonymous', handler });
}

for (const timer of instance.timers) {
  app.timer(timer.name, { schedule: timer.schedule.expression, handler: (_trigger, context) => timer.run(context) });
}
