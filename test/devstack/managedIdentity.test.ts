import { ManagedIdentityCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { useFileManagedIdentity } from '../support/managedIdentity.js';

const CLIENT_ID = '6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

// The real credential reads the platform's variables from the process, as in Azure.
const identity = useFileManagedIdentity({ clientId: CLIENT_ID, now: () => Date.parse('2026-11-29T12:00:00Z') });

describe('fake managed-identity endpoint, driven by the real @azure/identity credential', () => {
  it('issues a token for the resource the credential asks for, with the user-assigned client id', async () => {
    const token = await new ManagedIdentityCredential({ clientId: CLIENT_ID }).getToken(
      'https://vault.azure.net/.default',
    );
    expect(token.token).toMatch(/^fake-mi-/);
    // MSAL turns expires_on into a lifetime and back, so it can lose a second.
    expect(Math.abs(token.expiresOnTimestamp - Date.parse('2026-11-30T12:00:00Z'))).toBeLessThanOrEqual(2000);
    expect(identity().requests).toContainEqual({ resource: 'https://vault.azure.net', clientId: CLIENT_ID });
    expect(identity().tokensFor('https://vault.azure.net')).toContain(token.token);
  });

  it('refuses another identity and a wrong secret header, as the platform does', async () => {
    await expect(
      new ManagedIdentityCredential({
        clientId: '00000000-0000-4000-8000-000000000000',
        retryOptions: { maxRetries: 0 },
      }).getToken('https://vault.azure.net/.default'),
    ).rejects.toThrow();
    const wrongHeader = await fetch(
      `${identity().env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://vault.azure.net`,
      { headers: { 'X-IDENTITY-HEADER': 'guess' } },
    );
    expect(wrongHeader.status).toBe(401);
  });

  it('can fail on purpose', async () => {
    identity().failNext(1, 400);
    await expect(
      new ManagedIdentityCredential({ clientId: CLIENT_ID, retryOptions: { maxRetries: 0 } }).getToken(
        'https://management.azure.com/.default',
      ),
    ).rejects.toThrow();
  });
});
