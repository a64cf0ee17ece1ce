import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

type Server = HttpServer | HttpsServer;

/** Listens on an ephemeral loopback port; returns the port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** Closes the server and every connection it holds, hung ones included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
