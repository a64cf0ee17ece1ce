import { RestError } from '@azure/core-rest-pipeline';
import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { classifyKeyVaultFailure, secretEmpty, type SecretRead } from '../../src/secrets/keyVaultFailure.js';

const read: SecretRead = {
  vaultUrl: 'https://kv-contoso.vault.azure.net',
  secretName: 'speech-key',
  timeoutMs: 10_000,
};
const rest = (statusCode: number, code: string, message: string) => new RestError(message, { statusCode, code });

describe('classifyKeyVaultFailure: whatever SecretClient threw becomes one coded failure', () => {
  it.each<{ thrown: unknown; code: string }>([
    {
      thrown: new CredentialUnavailableError('ManagedIdentityCredential: no managed identity endpoint'),
      code: 'keyvault_credential_unavailable',
    },
    {
      thrown: new AuthenticationError(400, { error: 'invalid_request', error_description: 'AADSTS500011' }),
      code: 'keyvault_credential_unavailable',
    },
    {
      thrown: new RestError('getaddrinfo ENOTFOUND kv-contoso.vault.azure.net', { code: 'REQUEST_SEND_ERROR' }),
      code: 'keyvault_unreachable',
    },
    {
      thrown: Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }),
      code: 'keyvault_unreachable',
    },
    {
      thrown: rest(404, 'SecretNotFound', 'A secret with (name/id) speech-key was not found in this key vault.'),
      code: 'secret_not_found',
    },
    { thrown: rest(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.'), code: 'secret_disabled' },
    {
      thrown: rest(403, 'Forbidden', 'Caller is not authorized to perform action on resource.\r\nAction: getSecret'),
      code: 'keyvault_forbidden',
    },
    { thrown: rest(401, 'Unauthorized', 'AKV10032: Invalid issuer.'), code: 'keyvault_forbidden' },
    { thrown: rest(429, 'Throttled', 'Too many requests.'), code: 'keyvault_unavailable' },
    { thrown: rest(503, 'ServiceUnavailable', 'The service is currently unavailable.'), code: 'keyvault_unavailable' },
  ])('$code', ({ thrown, code }) => {
    const error = classifyKeyVaultFailure(thrown, read);
    expect(error.code).toBe(code);
    expect(error.fix).toBeTruthy();
    expect(error.diagnosis).toContain('speech-key');
    // One line: upstream CR/LF never reaches a log line.
    expect(error.diagnosis).not.toMatch(/[\r\n]/);
  });

  it('an empty secret is secret_not_found', () => {
    expect(secretEmpty(read)).toMatchObject({
      code: 'secret_not_found',
      diagnosis: expect.stringContaining('is empty'),
    });
  });

  it('a timeout names the budget', () => {
    const error = classifyKeyVaultFailure(Object.assign(new Error('aborted'), { name: 'AbortError' }), read);
    expect(error.diagnosis).toContain('no answer within 10000 ms');
  });
});
