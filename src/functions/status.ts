import { authorizeOperator } from '../access/operatorAccess.js';
import { handleJson, notConfigured, type RouteHandler } from '../http/handle.js';
import { serviceStatusSchema } from '../model.js';
import { serviceStatus } from '../operations/serviceStatus.js';
import type { Runtime } from '../runtime.js';

/**
 * `GET /api/status`: per resource, what this instance's token cache knows (state, expiry, last
 * refresh and error, the key's name and age), for callers holding one of `OPERATOR_ROLES`.
 */
export function statusHandler(runtime: () => Runtime): RouteHandler {
  return handleJson('status', serviceStatusSchema, async ({ request, note, correlation }) => {
    const current = runtime();
    if (!current.ok) throw notConfigured();
    const caller = await current.service.authenticate(request.headers.get('authorization'), correlation);
    note({ caller: caller.id });
    authorizeOperator(caller, current.parts.config.operations.operatorRoles);
    return serviceStatus(current.parts);
  });
}
