import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpMethod, HttpResponseInit, LogLevel } from '@azure/functions';
import type { Route } from '../../src/functions/routes.js';
import type { RouteContext, RouteRequest } from '../../src/http/handle.js';
import type { LogSink } from '../../src/log/logger.js';

/** What the app's bundle (`dist/bundle/app.js`) exports. */
export type BundleExports = typeof import('../../src/app.js');

/**
 * What the local host takes from the app's bundle (`dist/bundle/app.js`) besides the routes: the
 * same code Azure runs, and no second copy of it (or of zod and @azure/functions) to load.
 */
export type LocalHostApp = Pick<
  BundleExports,
  | 'Logger'
  | 'ROUTE_PREFIX'
  | 'WILDCARD_WITH_CREDENTIALS'
  | 'acceptedMethods'
  | 'badRequest'
  | 'describeError'
  | 'ensureVendingError'
  | 'problemResponse'
  | 'routeNotFound'
>;

export interface LocalHostOptions {
  readonly routes: readonly Route[];
  /** The bundle the routes come from. */
  readonly app: LocalHostApp;
  /** Origins allowed to call from a browser, as the platform's CORS setting applies them in Azure. */
  readonly corsOrigins?: readonly string[];
  readonly corsCredentials?: boolean;
  readonly sink: LogSink;
}

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
}

const MAX_BODY_BYTES = 64 * 1024;
/** A host name or IPv4 address, or an IPv6 address in brackets, and an optional port. */
const HOST = /^(?:[A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** `Access-Control-Request-Headers` is echoed only when it is a plain list of header names. */
const HEADER_NAMES = /^[!#$%&'*+.^`|~\w-]{1,64}(?:[ \t]*,[ \t]*[!#$%&'*+.^`|~\w-]{1,64}){0,31}$/;

/**
 * A thin node:http host for the same route table Azure Functions serves, so the service runs
 * (and is tested end to end) without Core Tools.
 */
export function createLocalHost(options: LocalHostOptions): Server {
  const {
    Logger,
    ROUTE_PREFIX,
    WILDCARD_WITH_CREDENTIALS,
    acceptedMethods,
    badRequest,
    describeError,
    ensureVendingError,
    problemResponse,
    routeNotFound,
  } = options.app;
  const compiled = options.routes.map((route) => compileRoute(route, ROUTE_PREFIX));
  const cors = new Set(options.corsOrigins ?? []);
  if (cors.has('*') && options.corsCredentials) throw new Error(WILDCARD_WITH_CREDENTIALS);
  const logger = new Logger(options.sink);
  const contextLog = contextLogHandler(options.sink);
  // What a handler's context writes to: the same three functions for every request.
  const contextLevels = {
    info: (...args: unknown[]) => contextLog('information', ...args),
    warn: (...args: unknown[]) => contextLog('warning', ...args),
    error: (...args: unknown[]) => contextLog('error', ...args),
  };
  // Paths repeat (a few routes, a few resources): each is matched once, bounded like a cache.
  const matches = new Map<string, { route: Route; params: Record<string, string> } | undefined>();
  const match = (path: string) => {
    if (matches.has(path)) return matches.get(path);
    if (matches.size >= 1024) matches.clear();
    const found = matchRoute(compiled, path);
    matches.set(path, found);
    return found;
  };

  return createServer((incoming, outgoing) => {
    // A fresh id per request, as the Functions host gives each invocation one.
    const invocationId = randomUUID();
    serve(incoming, outgoing, invocationId).catch((error: unknown) => {
      logger.error('local_host_failure', { invocationId, error: describeError(error) });
      if (outgoing.headersSent) outgoing.end();
      else write(outgoing, problemResponse(ensureVendingError(error), invocationId), {});
    });
  });

  async function serve(incoming: IncomingMessage, outgoing: ServerResponse, invocationId: string): Promise<void> {
    const path = requestPath(incoming);
    if (path === undefined) {
      write(outgoing, problemResponse(badRequest(), invocationId), {});
      return;
    }
    const origin = incoming.headers.origin;
    const corsAllowed = origin !== undefined && (cors.has('*') || cors.has(origin));
    const corsHeaders: Record<string, string> = corsAllowed
      ? {
          'Access-Control-Allow-Origin': cors.has('*') && !options.corsCredentials ? '*' : origin,
          ...(options.corsCredentials ? { 'Access-Control-Allow-Credentials': 'true' } : {}),
          // Without this a cross-origin page cannot read them (the problem body carries both too).
          'Access-Control-Expose-Headers': 'Retry-After, X-Correlation-Id',
          Vary: 'Origin',
        }
      : {};
    const matched = match(path);

    if (incoming.method === 'OPTIONS' && incoming.headers['access-control-request-method'] !== undefined) {
      const requested = incoming.headers['access-control-request-headers'];
      const allowHeaders = requested !== undefined && HEADER_NAMES.test(requested) ? requested : undefined;
      outgoing.writeHead(
        204,
        corsAllowed
          ? {
              ...corsHeaders,
              'Access-Control-Allow-Methods': matched ? matched.route.methods.join(', ') : 'GET',
              ...(allowHeaders ? { 'Access-Control-Allow-Headers': allowHeaders } : {}),
              'Access-Control-Max-Age': '600',
            }
          : {},
      );
      outgoing.end();
      return;
    }

    if (matched === undefined || !acceptedMethods(matched.route).includes((incoming.method ?? 'GET') as HttpMethod)) {
      write(outgoing, problemResponse(routeNotFound(options.routes), invocationId), corsHeaders);
      return;
    }

    // No handler reads a body: one that was sent is drained (up to a bound) so the connection stays usable.
    if (incoming.headers['transfer-encoding'] !== undefined || Number(incoming.headers['content-length'] ?? 0) > 0)
      await drain(incoming);
    // What the handlers read of a request, straight from node:http: building a fetch Request (as
    // the worker's HttpRequest does) for every request costs the warm path some 5 %.
    const { headers } = incoming;
    const request: RouteRequest = {
      method: incoming.method ?? 'GET',
      headers: {
        get: (name) => {
          const value = headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
      },
      params: matched.params,
    };
    const context: RouteContext = { invocationId, ...contextLevels };
    write(outgoing, await matched.route.handler(request, context), corsHeaders);
  }
}

/** A target of letters, digits, `-`, `_` and single slashes, with an optional query: already normal. */
const PLAIN_TARGET = /^((?:\/[\w-]+)+\/?)(?:\?.*)?$/;

/**
 * The request's path, or `undefined` when the platform would refuse it with 400: a `Host` that is
 * not a host name or address with an optional port, or a target other than a path (`*`, an
 * absolute URL). A plain path is taken as it is; any other goes through URL's normalisation
 * (dot segments, percent-encoding), as it would in Azure.
 */
function requestPath(incoming: IncomingMessage): string | undefined {
  const host = incoming.headers.host ?? '';
  const target = incoming.url ?? '';
  if (!HOST.test(host) || !target.startsWith('/') || Number(/:(\d+)$/.exec(host)?.[1] ?? 0) > 65_535) return undefined;
  const plain = PLAIN_TARGET.exec(target)?.[1];
  if (plain !== undefined) return plain;
  try {
    return new URL(`http://${host}${target}`).pathname;
  } catch {
    return undefined;
  }
}

function write(outgoing: ServerResponse, response: HttpResponseInit, extraHeaders: Record<string, string>): void {
  const headers: Record<string, string> = { ...extraHeaders, ...(response.headers as Record<string, string>) };
  const body = typeof response.body === 'string' ? response.body : '';
  headers['Content-Length'] = String(Buffer.byteLength(body));
  outgoing.writeHead(response.status ?? 200, headers);
  outgoing.end(body);
}

function compileRoute(route: Route, prefix: string): CompiledRoute {
  const paramNames: string[] = [];
  const source = `/${prefix}/${route.route}`
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param?.[1] === undefined) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      paramNames.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`, 'i'), paramNames };
}

function matchRoute(
  routes: readonly CompiledRoute[],
  pathname: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const { route, pattern, paramNames } of routes) {
    const match = pattern.exec(pathname);
    if (match === null) continue;
    const params: Record<string, string> = {};
    try {
      paramNames.forEach((name, index) => {
        params[name] = decodeURIComponent(match[index + 1] ?? '');
      });
    } catch {
      return undefined;
    }
    return { route, params };
  }
  return undefined;
}

async function drain(incoming: IncomingMessage): Promise<void> {
  let size = 0;
  for await (const chunk of incoming) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) break;
  }
}

/** An InvocationContext's log handler writing to `sink`, as the Functions host routes `context.log`. */
export function contextLogHandler(sink: LogSink): (level: LogLevel, ...args: unknown[]) => void {
  return (level, ...args) => {
    sink(
      level === 'error' || level === 'critical' ? 'error' : level === 'warning' ? 'warn' : 'info',
      args.map(String).join(' '),
    );
  };
}
