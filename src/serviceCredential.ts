import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { IdentityConfig } from './model.js';

/**
 * The app's own Azure identity. In Azure, the managed identity straight away: probing the whole
 * `DefaultAzureCredential` chain first costs round trips on a cold start. Elsewhere the chain, so
 * `az login` works. `@azure/identity` (a third of the bundle) loads on the first `getToken`, off
 * the import path of the app: an instance registers its functions and answers health before it.
 */
export function createServiceCredential({ managedIdentity, clientId }: IdentityConfig): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  const load = async (): Promise<TokenCredential> => {
    const { DefaultAzureCredential, ManagedIdentityCredential } = await import('@azure/identity');
    if (!managedIdentity)
      return new DefaultAzureCredential(clientId === undefined ? {} : { managedIdentityClientId: clientId });
    return clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId });
  };
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      credential ??= load();
      return (await credential).getToken(scopes, options);
    },
  };
}
