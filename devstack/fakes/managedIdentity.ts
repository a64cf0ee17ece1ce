import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from './server.js';

export interface FakeManagedIdentityOptions {
  /** Clock for `expires_on`, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Client ID of the user-assigned identity; requests naming another `client_id` get 400. */
  readonly clientId?: string;
  /** Token lifetime, in seconds. Default 86400, as App Service gives. */
  readonly lifetimeSeconds?: number;
}

export interface FakeManagedIdentityRequest {
  /** The `resource` asked for, e.g. `https://vault.azure.net`. */
  readonly resource: string;
  readonly clientId: string | undefined;
}

export interface FakeManagedIdentity {
  /** What the platform puts in `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. */
  readonly env: { readonly IDENTITY_ENDPOINT: string; readonly IDENTITY_HEADER: string };
  readonly requests: FakeManagedIdentityRequest[];
  /** The next `count` requests answer `status` (500: the endpoint is down; 400: no such identity). */
  failNext(count: number, status: number): void;
  /** The bearer tokens handed out so far, by resource: the fakes behind it may insist on them. */
  tokensFor(resource: string): readonly string[];
  close(): Promise<void>;
}

/**
 * The managed-identity endpoint Azure Functions and App Service give an app (`IDENTITY_ENDPOINT`
 * plus the `X-IDENTITY-HEADER` secret, api-version 2019-08-01), so the real `@azure/identity`
 * credential runs end to end. Source: "How to use managed identities for App Service and Azure
 * Functions", REST endpoint reference.
 */
export async function startFakeManagedIdentity(options: FakeManagedIdentityOptions = {}): Promise<FakeManagedIdentity> {
  const now = options.now ?? Date.now;
  const secret = randomBytes(16).toString('hex');
  const requests: FakeManagedIdentityRequest[] = [];
  const tokens = new Map<string, string[]>();
  let failures = { count: 0, status: 500 };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, message: string) =>
    json(res, status, { statusCode: status, message, correlationId: randomBytes(16).toString('hex') });

  const server = createServer((req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://identity');
    if (req.method !== 'GET' || url.pathname !== '/msi/token') {
      error(res, 404, `No ${req.method} ${url.pathname} here.`);
      return;
    }
    if (req.headers['x-identity-header'] !== secret) {
      error(res, 401, 'The X-IDENTITY-HEADER header is missing or wrong.');
      return;
    }
    if (url.searchParams.get('api-version') !== '2019-08-01') {
      error(res, 400, 'Unsupported api-version; use 2019-08-01.');
      return;
    }
    const resource = url.searchParams.get('resource');
    if (!resource) {
      error(res, 400, 'The resource parameter is required.');
      return;
    }
    const clientId = url.searchParams.get('client_id') ?? undefined;
    requests.push({ resource, clientId });
    if (failures.count > 0) {
      failures.count--;
      error(res, failures.status, 'Scripted failure of the managed identity endpoint.');
      return;
    }
    if (options.clientId !== undefined && clientId !== undefined && clientId !== options.clientId) {
      error(res, 400, `No user-assigned identity with client_id ${clientId} is assigned to this app.`);
      return;
    }
    const token = `fake-mi-${randomBytes(24).toString('base64url')}`;
    tokens.set(resource, [...(tokens.get(resource) ?? []), token]);
    json(res, 200, {
      access_token: token,
      expires_on: String(Math.floor(now() / 1000) + (options.lifetimeSeconds ?? 86_400)),
      resource,
      token_type: 'Bearer',
      client_id: clientId ?? options.clientId ?? '00000000-0000-4000-8000-00000000a11d',
    });
  });
  const port = await listenOnLoopback(server);

  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: secret },
    requests,
    failNext(count, status) {
      failures = { count, status };
    },
    tokensFor: (resource) => tokens.get(resource) ?? [],
    close: () => closeServer(server),
  };
}
