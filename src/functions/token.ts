import { requestedResourceName } from '../access/authorization.js';
import { handleJson, notConfigured, type RouteHandler } from '../http/handle.js';
import { vendedTokenSchema } from '../model.js';
import type { Runtime } from '../runtime.js';

/** `GET|POST /api/token/{resource}`: a short-lived bearer token for a resource the caller may use. */
export function tokenHandler(runtime: () => Runtime): RouteHandler {
  return handleJson('token', vendedTokenSchema, async ({ request, note }) => {
    const current = runtime();
    if (!current.ok) throw notConfigured();
    // Checked before anything else touches it: a name that cannot exist is 404 for anyone, and
    // only names that pass the rule reach the log.
    const resource = requestedResourceName(request.params.resource ?? '');
    note({ resource });
    const caller = await current.service.authenticate(request.headers.get('authorization'));
    note({ caller: caller.id, clientApp: caller.clientAppId });
    return current.service.token(caller, resource);
  });
}
