import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { classifyKeyVaultFailure, secretEmpty, type SecretRead } from '../../src/secrets/keyVaultFailure.js';

const read: SecretRead = {
  vaultUrl: 'https://kv-contoso.vault.azure.net',
  secretName: 'speech-key',
  timeoutMs: 10_000,
  now: Date.parse('2026-11-29T12:00:00Z'),
};
/** A RestError as the Key Vault SDK throws it: the body, with its inner code, on `details`. */
function rest(statusCode: number, code: string, message: string, innerCode?: string): RestError {
  const error = new RestError(message, { statusCode, code });
  error.details = { error: { code, message, ...(innerCode === undefined ? {} : { innerError: { code: innerCode } }) } };
  return error;
}

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
      thrown: rest(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'),
      code: 'secret_disabled',
    },
    {
      thrown: rest(
        403,
        'Forbidden',
        "Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'",
        'ForbiddenByRbac',
      ),
      code: 'keyvault_role_missing',
    },
    {
      thrown: rest(
        403,
        'Forbidden',
        "The user, group or application 'appid=00000000-0000-0000-0000-000000000001' does not have secrets get permission on key vault 'kv-contoso;location=westeurope'.",
        'ForbiddenByPolicy',
      ),
      code: 'keyvault_access_policy_missing',
    },
    {
      thrown: rest(
        403,
        'Forbidden',
        'Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7\r\nVault: kv-contoso;location=westeurope',
        'ForbiddenByFirewall',
      ),
      code: 'keyvault_network_restricted',
    },
    {
      thrown: rest(
        403,
        'Forbidden',
        'Public network access is disabled and request is not from a trusted service nor via an approved private link.',
        'ForbiddenByConnection',
      ),
      code: 'keyvault_network_restricted',
    },
    {
      thrown: rest(
        401,
        'Unauthorized',
        'AKV10032: Invalid issuer. Expected one of https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/, found https://sts.windows.net/8f0b9c1e-3a4d-4e5f-9a6b-7c8d9e0f1a2b/.',
      ),
      code: 'keyvault_wrong_tenant',
    },
    {
      thrown: rest(403, 'Forbidden', 'Something the service has not documented.', 'ForbiddenBySomethingNew'),
      code: 'keyvault_forbidden',
    },
    {
      thrown: rest(
        429,
        'Throttled',
        'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
      ),
      code: 'keyvault_throttled',
    },
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

describe('each refusal gets its own fix', () => {
  it('a firewall refusal leads with the vault network rules, not a role assignment', () => {
    const error = classifyKeyVaultFailure(
      rest(
        403,
        'Forbidden',
        'Client address is not authorized and caller is not a trusted service.',
        'ForbiddenByFirewall',
      ),
      read,
    );
    expect(error.fix).toMatch(/^The vault's firewall refused/);
    expect(error.fix).toContain('A role assignment will not help');
  });

  it("an unknown refusal keeps the generic code and carries the vault's own codes", () => {
    const error = classifyKeyVaultFailure(rest(403, 'Forbidden', 'New.', 'ForbiddenBySomethingNew'), read);
    expect(error.upstreamCode).toBe('Forbidden/ForbiddenBySomethingNew');
  });

  it('a 429 is remembered for as long as the vault asked', () => {
    const throttled = rest(429, 'Throttled', 'Too many requests.');
    throttled.response = {
      headers: createHttpHeaders({ 'retry-after': '30' }),
      request: createPipelineRequest({ url: 'https://kv-contoso.vault.azure.net/secrets/speech-key' }),
      status: 429,
    };
    expect(classifyKeyVaultFailure(throttled, read).retryAfterSeconds).toBe(30);
  });
});
