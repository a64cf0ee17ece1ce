import { handleJson, notConfigured, type RouteHandler } from '../http/handle.js';
import { resourceListSchema } from '../model.js';
import type { Runtime } from '../runtime.js';

/** `GET /api/resources`: what this caller may request; nothing secret. */
export function resourcesHandler(runtime: () => Runtime): RouteHandler {
  return handleJson('resources', resourceListSchema, async ({ request, note, correlation }) => {
    const current = runtime();
    if (!current.ok) throw notConfigured();
    const caller = await current.service.authenticate(request.headers.get('authorization'), correlation);
    note({ caller: caller.id });
    return { resources: current.service.resources(caller) };
  });
}
