import type { HttpMethod } from '@azure/functions';
import type { RouteHandler } from '../http/handle.js';
import type { Runtime } from '../runtime.js';
import { healthHandler } from './health.js';
import { resourcesHandler } from './resources.js';
import { tokenHandler } from './token.js';

export interface Route {
  readonly name: string;
  readonly methods: readonly HttpMethod[];
  /** Functions route template, below the `api` prefix. */
  readonly route: string;
  readonly handler: RouteHandler;
}

export const ROUTE_PREFIX = 'api';

/** The one route table: registered with app.http in Azure and served by the local host. */
export function createRoutes(runtime: () => Runtime): Route[] {
  return [
    { name: 'token', methods: ['GET', 'POST'], route: 'token/{resource}', handler: tokenHandler(runtime) },
    { name: 'resources', methods: ['GET'], route: 'resources', handler: resourcesHandler(runtime) },
    { name: 'health', methods: ['GET'], route: 'health', handler: healthHandler() },
  ];
}
