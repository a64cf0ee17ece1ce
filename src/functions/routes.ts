import type { HttpMethod } from '@azure/functions';
import type { RouteHandler } from '../http/handle.js';
import { VendingError } from '../errors/serviceError.js';
import type { StatusService } from '../services/statusService.js';
import type { TokenService } from '../services/tokenService.js';
import { healthHandler } from './health.js';
import { OPENAPI_METHODS, openApiHandler } from './openapi.js';
import { resourcesHandler } from './resources.js';
import { statusHandler } from './status.js';
import { tokenHandler } from './token.js';

export interface Route {
  readonly name: string;
  /** The methods the route serves (and the OpenAPI document lists). */
  readonly methods: readonly HttpMethod[];
  /**
   * The handler answers every other method itself (405 with `Allow`), so the host must hand it
   * every method instead of answering 404 for the others.
   */
  readonly answersOtherMethods?: true;
  /** Functions route template, below the `api` prefix. */
  readonly route: string;
  readonly handler: RouteHandler;
}

export const ROUTE_PREFIX = 'api';

// Not TRACE or CONNECT: the worker's HttpRequest (fetch's Request) refuses both, so a registered
// route would fail on them instead of answering; the host's own 404 is the better answer.
const EVERY_METHOD: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The methods a host must pass to the route's handler: Azure registers these, the local host matches them. */
export function acceptedMethods(route: Route): readonly HttpMethod[] {
  return route.answersOtherMethods ? EVERY_METHOD : route.methods;
}

/** The services the routes answer with: each handler receives only the one it needs. */
export interface RouteServices {
  readonly tokens: TokenService;
  readonly status: StatusService;
}

/** The one route table: registered with app.http in Azure and served by the local host. */
export function createRoutes(services: RouteServices): Route[] {
  return [
    { name: 'token', methods: ['GET', 'POST'], route: 'token/{resource}', handler: tokenHandler(services.tokens) },
    { name: 'resources', methods: ['GET'], route: 'resources', handler: resourcesHandler(services.tokens) },
    { name: 'health', methods: ['GET'], route: 'health', handler: healthHandler() },
    { name: 'status', methods: ['GET'], route: 'status', handler: statusHandler(services.status) },
    {
      name: 'openapi',
      methods: OPENAPI_METHODS,
      answersOtherMethods: true,
      route: 'openapi.json',
      handler: openApiHandler(),
    },
  ];
}

/**
 * What a host answers for a path and method no route serves, listing the routes. Neither the
 * method nor the path is echoed: the caller knows what it sent. Azure's host answers such
 * requests itself; the local host uses this.
 */
export function routeNotFound(routes: readonly Route[]): VendingError {
  const known = routes.map((route) => `${route.methods.join('|')} /${ROUTE_PREFIX}/${route.route}`).join(', ');
  return new VendingError('route_not_found', 'No such route.', { detail: `No such route. Routes: ${known}.` });
}

/** A request no route should see: a `Host` that names no host, or a target that is not a path. */
export function badRequest(): VendingError {
  return new VendingError('bad_request', 'Malformed request.', {
    detail: 'The request is malformed: it needs a Host header naming a host (and port), and a path.',
  });
}
