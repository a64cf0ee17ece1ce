import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

type Server = HttpServer | HttpsServer;

/**
 * Raw sockets per server. `closeAllConnections` only knows sockets that reached HTTP; a TLS
 * socket still in its handshake (or a client that connected and said nothing) would otherwise
 * keep `close()` waiting for ever.
 */
const sockets = new WeakMap<Server, Set<Socket>>();
const accepted = new WeakMap<Server, number>();

/**
 * Listens on an ephemeral loopback port; returns the port. `latencyMs` delays every answer, as a
 * distant service would (the cold-start benchmark gives each upstream 50 ms).
 */
export function listenOnLoopback(server: Server, latencyMs = 0): Promise<number> {
  if (latencyMs > 0) {
    const handlers = server.listeners('request') as ((...args: unknown[]) => void)[];
    server.removeAllListeners('request');
    server.on('request', (...args: unknown[]) => {
      setTimeout(() => {
        for (const handler of handlers) handler.apply(server, args);
      }, latencyMs);
    });
  }
  const open = new Set<Socket>();
  sockets.set(server, open);
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    accepted.set(server, (accepted.get(server) ?? 0) + 1);
    socket.once('close', () => open.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** Closes the server and every connection it holds, hung ones included. Safe to call twice. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // The callback's error (server already closed) is not a failure to close.
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of sockets.get(server) ?? []) socket.destroy();
  });
}

/** Connections the server has accepted so far: fewer than requests means clients keep them alive. */
export function acceptedConnections(server: Server): number {
  return accepted.get(server) ?? 0;
}

/** A request a fake parks on purpose: the test learns when it arrived and decides when it goes on. */
export interface Gate {
  /** Settles when the parked request has arrived. */
  readonly arrived: Promise<void>;
  /** Called by the fake when the request arrives. */
  readonly arrive: () => void;
  /** Settles when the test lets the request go on. */
  readonly released: Promise<void>;
  readonly release: () => void;
}

/** What a test holds of a parked request: when it arrived, and how to let it go on. */
export type HeldRequest = Pick<Gate, 'arrived' | 'release'>;

export function createGate(): Gate {
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { arrived, arrive, released, release };
}

/** A request's body as text; a body over `maxChars` characters destroys the request, as a guard. */
export function readBody(req: IncomingMessage, maxChars: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > maxChars) req.destroy();
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** undici's shape for a failed connection: `TypeError('fetch failed')` with the system error as cause. */
export function connectionFailure(hostname: string, code: 'ENOTFOUND' | 'ECONNREFUSED', port: number): TypeError {
  const cause =
    code === 'ENOTFOUND'
      ? Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
          errno: -3008,
          code,
          syscall: 'getaddrinfo',
          hostname,
        })
      : Object.assign(new Error(`connect ECONNREFUSED ${hostname}:${port}`), {
          errno: -111,
          code,
          syscall: 'connect',
          address: hostname,
          port,
        });
  return new TypeError('fetch failed', { cause });
}

/** How a fake stands in for Azure hosts: which ones it answers, and how a request reaches it. */
export interface AzureHostRouting {
  /** Whether Azure's DNS would resolve this (lower-case) host name to a resource the fake holds. */
  readonly resolves: (host: string) => boolean;
  /**
   * Sends the request to the fake at `pathAndQuery`; `init.headers` carries the host the client
   * addressed in `x-fake-original-host`.
   */
  readonly forward: (pathAndQuery: string, init: RequestInit & { signal: AbortSignal | null }) => Promise<Response>;
  /** A loopback URL, the fake's own or another local server's. Default: the real fetch. */
  readonly loopback?: (request: Request, signal: AbortSignal | null) => Promise<Response>;
}

/**
 * A fetch that sends `https://<Azure host>/…` to a fake on loopback, which answers as that host
 * would. Loopback URLs go to `routing.loopback`; a host the fake does not hold fails as DNS would
 * (ENOTFOUND), and any port but 443 as a refused connection: Azure's front doors listen on 443 only.
 */
export function azureHostFetch(routing: AzureHostRouting): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    // The caller's own signal: undici's Request holds its follower signal weakly, so after GC an
    // abort of the original may never reach it.
    const signal = init?.signal ?? request.signal;
    const target = new URL(request.url);
    if (isLoopbackHostname(target.hostname)) return (routing.loopback ?? ((r) => fetch(r)))(request, signal);
    const host = target.hostname;
    if (!routing.resolves(host)) throw connectionFailure(host, 'ENOTFOUND', Number(target.port || 443));
    if (target.protocol !== 'https:' || (target.port !== '' && target.port !== '443')) {
      throw connectionFailure(host, 'ECONNREFUSED', Number(target.port || (target.protocol === 'http:' ? 80 : 443)));
    }
    const headers = new Headers(request.headers);
    headers.set('x-fake-original-host', host);
    return routing.forward(`${target.pathname}${target.search}`, {
      method: request.method,
      headers,
      signal,
      redirect: 'manual',
      ...(request.method === 'GET' || request.method === 'HEAD' ? {} : { body: await request.arrayBuffer() }),
    });
  };
}
