import type { ResourceList } from '../contract/answers.js';
import { handleJson, type RouteHandler } from '../http/handle.js';
import type { TokenService } from '../services/tokenService.js';

/** `GET /api/resources`: what this caller may request; nothing secret. */
export function resourcesHandler(tokens: TokenService): RouteHandler {
  return handleJson<ResourceList>('resources', async ({ request, note, correlation }) => {
    const caller = await tokens.authenticate(request.headers.get('authorization'), correlation);
    note({ caller: caller.id });
    return { resources: tokens.resources(caller) };
  });
}
