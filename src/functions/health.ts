import { handle, type RouteHandler } from '../http/handle.js';

/** `GET /api/health`: anonymous liveness. Says nothing about configuration or secrets. */
export function healthHandler(): RouteHandler {
  return handle('health', () => Promise.resolve({ status: 'ok' }));
}
