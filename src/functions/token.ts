import type { VendedToken } from '../contract/answers.js';
import { handleJson, type RouteHandler } from '../http/handle.js';
import type { TokenService } from '../services/tokenService.js';

/** `GET|POST /api/token/{resource}`: a short-lived credential for a resource the caller may use. */
export function tokenHandler(tokens: TokenService): RouteHandler {
  return handleJson<VendedToken>(
    'token',
    async ({ request, note, correlation }) => {
      // Checked before anything else touches it: a name that cannot exist is 404 for anyone, and
      // only names that pass the rule reach the log.
      const resource = tokens.resourceName(request.params.resource ?? '');
      note({ resource });
      const caller = await tokens.authenticate(request.headers.get('authorization'), correlation);
      note({ caller: caller.id, clientApp: caller.clientAppId });
      return tokens.vend(caller, resource, correlation);
    },
    ({ code, noted }) => {
      tokens.countRequest(typeof noted.resource === 'string' ? noted.resource : undefined, code ?? 'ok');
    },
  );
}
