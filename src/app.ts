import { createServices, type Dependencies, type Services } from './composition.js';
import type { Environment } from './config/settings.js';
import { createRoutes, type Route } from './functions/routes.js';
import { createTimers, type TimerFunction } from './functions/timers.js';

/** One instance of the app: its services, the route and timer tables, and the warm-up it started. */
export interface App {
  readonly services: Services;
  readonly routes: readonly Route[];
  readonly timers: readonly TimerFunction[];
  /** Settles when the warm-up is over; it never rejects. */
  readonly warmedUp: Promise<void>;
}

/**
 * Builds the app from the environment and starts warming its caches. The Functions entry
 * (`azureFunctions.ts`) and the local host both start from here, in the same bundle.
 */
export function createApp(env: Environment, dependencies: Dependencies = {}): App {
  const services = createServices(env, dependencies);
  // Started once the import has finished, so the worker registers the functions first.
  const warmedUp = afterImport().then(services.start);
  return { services, routes: createRoutes(services), timers: createTimers(services.jobs), warmedUp };
}

// For the local host, from this bundle: a second copy of @azure/functions or zod loaded from
// node_modules would cost every start of `npm run serve` some 40-60 ms each.
export { InvocationContext } from '@azure/functions';
export { readLocalSettings, WILDCARD_WITH_CREDENTIALS } from './config/localSettings.js';
export { describeError, ensureVendingError } from './errors/serviceError.js';
export { acceptedMethods, badRequest, ROUTE_PREFIX, routeNotFound } from './functions/routes.js';
export { problemResponse } from './http/problem.js';
export { Logger } from './log/logger.js';

function afterImport(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
