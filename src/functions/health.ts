import { handleJson, type RouteHandler } from '../http/handle.js';

/** `GET /api/health`: anonymous liveness. Says nothing about configuration or secrets. */
export function healthHandler(): RouteHandler {
  return handleJson('health', () => Promise.resolve({ status: 'ok' as const }));
}
