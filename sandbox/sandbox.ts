import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { closeServer } from '../devstack/fakes/server.js';
import {
  repositoryRoot,
  startLocalStack,
  STACK_AUDIENCE,
  STACK_REALTIME,
  STACK_TENANT_ID,
  type LocalStack,
} from '../devstack/localStack.js';

export interface SandboxOptions {
  /** Port of the API (the local host); 0 picks a free one. */
  readonly apiPort?: number;
  /** Port of the demo page, a different origin from the API so CORS is real; 0 picks a free one. */
  readonly demoPort?: number;
  readonly hostOutput?: 'capture' | 'inherit';
}

export interface Sandbox {
  readonly stack: LocalStack;
  readonly demoUrl: string;
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/**
 * The whole system with no Azure account: fake Entra, Key Vault and STS, the local host, and the
 * demo page on its own origin. "Sign-in" here asks the fake Entra for a caller token.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const demo = createServer((req, res) => {
    serveDemo(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => demo.listen(options.demoPort ?? 5173, '127.0.0.1', resolve));
  const address = demo.address();
  const demoUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: options.apiPort ?? 7071,
      corsOrigins: [demoUrl],
      rateLimitPerMinute: 60,
      hostOutput: options.hostOutput ?? 'capture',
    });
  } catch (error) {
    await closeServer(demo);
    throw error;
  }

  async function serveDemo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', demoUrl).pathname;
    if (path === '/sandbox/config.json') {
      json(res, 200, {
        mode: 'sandbox',
        apiBaseUrl: stack.apiUrl,
        resource: 'speech',
        // The Talk panel: the fake Azure OpenAI serves a self-signed certificate the browser must trust.
        realtime: {
          resource: STACK_REALTIME.resource,
          certificateUrl: stack.openai.url,
          spkiPin: stack.openai.spkiPin,
        },
      });
      return;
    }
    if (path === '/sandbox/sign-in' && req.method === 'POST') {
      const body = await readBody(req);
      const withRole = (JSON.parse(body || '{}') as { withRole?: boolean }).withRole !== false;
      const accessToken = await stack.callerToken(withRole ? {} : { roles: [], scp: 'openid' });
      json(res, 200, { accessToken, name: withRole ? 'Sandbox User' : 'Sandbox User (no role)' });
      return;
    }
    // The page as Vite built it (npm run build:demo), with the client from its packed tarball.
    const root = join(repositoryRoot(), 'sandbox', 'demo', 'dist');
    const relative = path === '/' ? 'index.html' : path.replace(/^\//, '');
    const file = normalize(join(root, relative));
    if (!file.startsWith(root + sep)) {
      json(res, 404, { error: 'not found' });
      return;
    }
    try {
      const content = await readFile(file);
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(content);
    } catch {
      json(
        res,
        404,
        path === '/' ? { error: 'the demo page is not built: run npm run build:demo' } : { error: 'not found' },
      );
    }
  }

  return {
    stack,
    demoUrl,
    async stop() {
      await closeServer(demo);
      await stack.stop();
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 4096) break;
  }
  return body;
}

export const SANDBOX_FACTS = { tenantId: STACK_TENANT_ID, audience: STACK_AUDIENCE };
