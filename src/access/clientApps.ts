import type { Caller } from '../auth/callerAuthentication.js';
import { VendingError } from '../errors/serviceError.js';

/**
 * `AUTH_ALLOWED_CLIENT_APPS`: a caller whose token was obtained by another client application
 * (`azp` in v2.0, `appid` in v1.0) gets 403 `forbidden`, naming that application in the diagnosis.
 * Any application the tenant consented to may otherwise obtain a token for this API, a third-party
 * multi-tenant app included. An empty list accepts every application.
 */
export function authorizeClientApp(caller: Caller, allowedClientApps: readonly string[]): void {
  if (allowedClientApps.length === 0 || allowedClientApps.includes(caller.clientAppId.toLowerCase())) return;
  throw new VendingError('forbidden', 'The client application may not call this API.', {
    detail:
      'This API accepts tokens from its own client applications only, and the app you signed in with is not one of them. Use one of those apps.',
    diagnosis: `caller ${caller.id} signed in with client application ${caller.clientAppId}, which is not in AUTH_ALLOWED_CLIENT_APPS (${allowedClientApps.join(', ')})`,
    fix: `If client application ${caller.clientAppId} is yours, add its application (client) ID to AUTH_ALLOWED_CLIENT_APPS.`,
  });
}
