import { handleJson, type RouteHandler } from '../http/handle.js';
import { healthSchema } from '../model.js';

/** `GET /api/health`: anonymous liveness. Says nothing about configuration or secrets. */
export function healthHandler(): RouteHandler {
  return handleJson('health', healthSchema, () => Promise.resolve({ status: 'ok' as const }));
}
