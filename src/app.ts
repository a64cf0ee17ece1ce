import type { Dependencies } from './composition.js';
import type { Environment } from './config/settings.js';
import { createRoutes, type Route } from './functions/routes.js';
import { createTimers, type TimerFunction } from './functions/timers.js';
import { createRuntime, type Runtime } from './runtime.js';
import { warmUp } from './warmUp.js';

/** One instance of the app: its runtime, the route table, and the warm-up it started. */
export interface App {
  readonly runtime: Runtime;
  readonly routes: readonly Route[];
  readonly timers: readonly TimerFunction[];
  /** Settles when the warm-up is over; it never rejects. */
  readonly warmedUp: Promise<void>;
}

/**
 * Builds the app from the environment and starts warming its caches. The Functions entry
 * (`functions/index.ts`) and the local host both start from here, in the same bundle.
 */
export function createApp(env: Environment, dependencies: Dependencies = {}): App {
  const runtime = createRuntime(env, dependencies);
  // Started once the import has finished, so the worker registers the functions first.
  const warmedUp = runtime.ok ? afterImport().then(() => warmUp(runtime.parts)) : Promise.resolve();
  // The exporter is a large part of the bundle: parsed once the first callers' work is done.
  if (runtime.ok) void warmedUp.then(() => runtime.parts.telemetry.start());
  return { runtime, routes: createRoutes(() => runtime), timers: createTimers(runtime), warmedUp };
}

// For the local host, from this bundle: a second copy of @azure/functions or zod loaded from
// node_modules would cost every start of `npm run serve` some 40-60 ms each.
export { HttpRequest, InvocationContext } from '@azure/functions';
export { readLocalSettings, WILDCARD_WITH_CREDENTIALS } from './config/localSettings.js';
export { describeError, ensureVendingError } from './errors.js';
export { acceptedMethods, badRequest, ROUTE_PREFIX, routeNotFound } from './functions/routes.js';
export { problemResponse } from './http/problem.js';
export { Logger } from './log/logger.js';

function afterImport(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
