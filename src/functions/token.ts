import { requestedResourceName } from '../access/authorization.js';
import { handleJson, notConfigured, type Answered, type RouteHandler } from '../http/handle.js';
import { canonicalResourceName, vendedTokenSchema } from '../model.js';
import type { Runtime } from '../runtime.js';
import { UNKNOWN_RESOURCE } from '../telemetry/names.js';

/** `GET|POST /api/token/{resource}`: a short-lived bearer token for a resource the caller may use. */
export function tokenHandler(runtime: () => Runtime): RouteHandler {
  return handleJson(
    'token',
    vendedTokenSchema,
    async ({ request, note, correlation }) => {
      const current = runtime();
      if (!current.ok) throw notConfigured();
      // Checked before anything else touches it: a name that cannot exist is 404 for anyone, and
      // only names that pass the rule reach the log.
      const resource = requestedResourceName(request.params.resource ?? '');
      note({ resource });
      const caller = await current.service.authenticate(request.headers.get('authorization'), correlation);
      note({ caller: caller.id, clientApp: caller.clientAppId });
      return current.service.token(caller, resource, correlation);
    },
    (answered) => {
      countTokenRequest(runtime(), answered);
    },
  );
}

/**
 * `token_requests` by configured resource and outcome. A name nobody configured is counted as
 * `(unknown)`: a caller's string must not become a dimension.
 */
function countTokenRequest(current: Runtime, { code, noted }: Answered): void {
  if (!current.ok || !current.parts.telemetry.exporting) return;
  const requested = typeof noted.resource === 'string' ? noted.resource : undefined;
  const resource = current.parts.config.resources.find((r) => canonicalResourceName(r.name) === requested);
  current.parts.telemetry.count('token_requests', {
    resource: resource?.name ?? UNKNOWN_RESOURCE,
    outcome: code ?? 'ok',
  });
}
