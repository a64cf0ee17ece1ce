import { handleJson, notConfigured, type RouteHandler } from '../http/handle.js';
import { vendedTokenSchema } from '../model.js';
import type { Runtime } from '../runtime.js';

/** `GET|POST /api/token/{resource}`: a short-lived bearer token for a resource the caller may use. */
export function tokenHandler(runtime: () => Runtime): RouteHandler {
  return handleJson('token', vendedTokenSchema, async ({ request, note }) => {
    const current = runtime();
    if (!current.ok) throw notConfigured();
    const resource = request.params.resource ?? '';
    note({ resource });
    const caller = await current.service.authenticate(request.headers.get('authorization'));
    note({ caller: caller.id, clientApp: caller.clientAppId });
    return current.service.token(caller, resource);
  });
}
