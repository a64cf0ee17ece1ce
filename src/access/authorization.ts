import type { Caller } from '../auth/callerAuthentication.js';
import { canonicalResourceName, RESOURCE_NAME, type TokenResource } from '../model.js';
import { VendingError } from '../errors/serviceError.js';

/** App roles (application and user assignments) or delegated scopes; either grants access. */
export function mayUse(caller: Caller, resource: TokenResource): boolean {
  return (
    resource.allowedRoles.some((role) => caller.roles.includes(role)) ||
    resource.allowedScopes.some((scope) => caller.scopes.includes(scope))
  );
}

/** The resources this caller may request, for `GET /api/resources`. */
export function visibleResources(caller: Caller, resources: readonly TokenResource[]): TokenResource[] {
  return resources.filter((resource) => mayUse(caller, resource));
}

/**
 * The `{resource}` of a request, checked against the name rule before it is used anywhere: its
 * canonical form, or 404 `resource_not_found` that neither echoes nor logs what was sent.
 */
export function requestedResourceName(raw: string): string {
  if (!RESOURCE_NAME.test(raw)) throw notAResourceName(raw.length);
  return canonicalResourceName(raw);
}

/**
 * The resource this caller asked for, or 404/403. Names are matched case-insensitively in ASCII,
 * like the configuration's uniqueness rule.
 */
export function authorize(caller: Caller, resources: readonly TokenResource[], requested: string): TokenResource {
  const name = requestedResourceName(requested);
  const resource = byCanonicalName(resources).get(name);
  if (resource === undefined) throw resourceNotFound(name);
  if (!mayUse(caller, resource)) throw forbidden(caller, resource);
  return resource;
}

const directories = new WeakMap<readonly TokenResource[], ReadonlyMap<string, TokenResource>>();

/** The configured resources by canonical name, made once per list (the configuration never changes). */
function byCanonicalName(resources: readonly TokenResource[]): ReadonlyMap<string, TokenResource> {
  let directory = directories.get(resources);
  if (directory === undefined) {
    directory = new Map(resources.map((resource) => [canonicalResourceName(resource.name), resource]));
    directories.set(resources, directory);
  }
  return directory;
}

/** `name` passed the name rule, so it is safe to show. */
function resourceNotFound(name: string): VendingError {
  return new VendingError('resource_not_found', `No resource named "${name}".`, {
    detail: `There is no resource named "${name}". GET /api/resources lists the ones you may request.`,
  });
}

function notAResourceName(length: number): VendingError {
  return new VendingError('resource_not_found', 'No such resource.', {
    detail:
      'There is no resource by that name: names are letters, digits, "-" and "_". GET /api/resources lists the ones you may request.',
    diagnosis: `the requested name (${length} characters) is not a resource name; not logged`,
  });
}

function forbidden(caller: Caller, resource: TokenResource): VendingError {
  const needs = [
    resource.allowedRoles.length ? `app role ${resource.allowedRoles.join(' or ')}` : '',
    resource.allowedScopes.length ? `delegated scope ${resource.allowedScopes.join(' or ')}` : '',
  ]
    .filter(Boolean)
    .join(', or ');
  return new VendingError('forbidden', `Caller may not use resource "${resource.name}".`, {
    detail: `Your token does not grant access to "${resource.name}": it needs the ${needs}. Ask an administrator to assign it, then sign in again.`,
    diagnosis: `caller ${caller.id} (roles: ${caller.roles.join(' ') || 'none'}; scopes: ${caller.scopes.join(' ') || 'none'}) lacks ${needs} for "${resource.name}"`,
  });
}
