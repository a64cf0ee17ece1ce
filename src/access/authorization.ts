import type { Caller } from '../auth/callerAuthentication.js';
import type { TokenResource } from '../model.js';
import { VendingError } from '../errors.js';

/** App roles (application and user assignments) or delegated scopes; either grants access. */
export function mayUse(caller: Caller, resource: TokenResource): boolean {
  return (
    resource.allowedRoles.some((role) => caller.roles.includes(role)) ||
    resource.allowedScopes.some((scope) => caller.scopes.includes(scope))
  );
}

export function visibleResources(caller: Caller, resources: readonly TokenResource[]): TokenResource[] {
  return resources.filter((resource) => mayUse(caller, resource));
}

/**
 * The resource this caller asked for, or 404/403. Names are matched case-insensitively, like the
 * configuration's uniqueness rule.
 */
export function authorize(caller: Caller, resources: readonly TokenResource[], requested: string): TokenResource {
  const resource = resources.find((r) => r.name.toLowerCase() === requested.toLowerCase());
  if (resource === undefined) throw resourceNotFound(requested);
  if (!mayUse(caller, resource)) throw forbidden(caller, resource);
  return resource;
}

function resourceNotFound(requested: string): VendingError {
  return new VendingError('resource_not_found', `No resource named "${requested}".`, {
    detail: `There is no resource named "${requested}". GET /api/resources lists the ones you may request.`,
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
