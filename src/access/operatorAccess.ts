import type { Caller } from '../auth/callerAuthentication.js';
import { VendingError } from '../errors/serviceError.js';

/**
 * The status view is for operators: a caller whose `roles` claim holds one of `OPERATOR_ROLES`.
 * Delegated scopes do not count: an app acting for a user must not become an operator console.
 * Otherwise 403 `forbidden`, the same problem as a resource the caller may not use.
 */
export function authorizeOperator(caller: Caller, operatorRoles: readonly string[]): void {
  if (operatorRoles.some((role) => caller.roles.includes(role))) return;
  throw new VendingError('forbidden', 'Caller is not an operator.', {
    detail: `The status view needs the app role ${operatorRoles.join(' or ')}. Ask an administrator to assign it, then sign in again.`,
    diagnosis: `caller ${caller.id} (roles: ${caller.roles.join(' ') || 'none'}) holds none of OPERATOR_ROLES (${operatorRoles.join(', ')})`,
  });
}
