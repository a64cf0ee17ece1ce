import { createServer } from 'node:http';
import { closeServer, listenOnLoopback, readBody } from '../../devstack/fakes/server.js';
import { startLocalStack } from '../../devstack/localStack.js';

/**
 * The dev stack for the .NET client's xunit tests (clients/dotnet/tests), which start it as
 * `node dist/test/client/dotnetStack.js`: the fakes and the local host, and on a second loopback
 * port a control endpoint, `POST /caller-token` (body: claims to add or override) answering
 * `{ "token" }`. Prints one JSON line, `{ "apiUrl", "controlUrl" }`, once both listen; stops
 * when its standard input closes (the test process ended, however it ended) or on SIGTERM.
 * Callers are limited to 60 requests a minute, so a test can meet a real 429 and Retry-After.
 */
const stack = await startLocalStack({ port: 0, rateLimitPerMinute: 60, hostOutput: 'capture' });
const control = createServer((req, res) => {
  const answer = async () => {
    if (req.method !== 'POST' || req.url !== '/caller-token') {
      res.writeHead(404).end();
      return;
    }
    const claims = JSON.parse((await readBody(req, 4096)) || '{}') as Record<string, unknown>;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: await stack.callerToken(claims) }));
  };
  answer().catch((error: unknown) => {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
  });
});
const controlUrl = `http://127.0.0.1:${await listenOnLoopback(control)}`;

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= Promise.all([closeServer(control), stack.stop()]).then(() => process.exit(0));
};
process.stdin.on('end', stop).on('close', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`${JSON.stringify({ apiUrl: stack.apiUrl, controlUrl })}\n`);
