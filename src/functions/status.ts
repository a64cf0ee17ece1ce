import type { ServiceStatus } from '../contract/answers.js';
import { handleJson, type RouteHandler } from '../http/handle.js';
import type { StatusService } from '../services/statusService.js';

/**
 * `GET /api/status`: per resource, what this instance's token cache knows (state, expiry, last
 * refresh and error, the key's name and age), for callers holding one of `OPERATOR_ROLES`.
 */
export function statusHandler(status: StatusService): RouteHandler {
  return handleJson<ServiceStatus>('status', async ({ request, note, correlation }) => {
    const caller = await status.authenticate(request.headers.get('authorization'), correlation);
    note({ caller: caller.id });
    return status.status(caller);
  });
}
