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

/** Every refusal Key Vault's error references name, with the code and the words its fix must have. */
const DOCUMENTED: readonly { name: string; thrown: unknown; code: string; fix: RegExp }[] = [
  {
    name: '403 firewall, named by its message only (no inner code)',
    thrown: rest(
      403,
      'Forbidden',
      'Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7',
    ),
    code: 'keyvault_network_restricted',
    fix: /firewall refused the function app's address/,
  },
  {
    name: '403 public access disabled, named by its message only',
    thrown: rest(
      403,
      'Forbidden',
      'Public network access is disabled and request is not from a trusted service nor via an approved private link.',
    ),
    code: 'keyvault_network_restricted',
    fix: /private endpoint/,
  },
  {
    name: '403 inner AccessDenied (common error codes: missing access policy)',
    thrown: rest(403, 'Forbidden', 'Access denied.', 'AccessDenied'),
    code: 'keyvault_access_policy_missing',
    fix: /access policies/,
  },
  {
    name: '403 code AccessDenied',
    thrown: rest(403, 'AccessDenied', 'You may be missing permissions in access policy to do that operation.'),
    code: 'keyvault_access_policy_missing',
    fix: /access policies/,
  },
  {
    name: '403 access policy, named by its message only',
    thrown: rest(
      403,
      'Forbidden',
      "The user, group or application 'appid=x' does not have secrets get permission on key vault 'kv;location=westeurope'.",
    ),
    code: 'keyvault_access_policy_missing',
    fix: /access policies/,
  },
  {
    name: '403 RBAC, named by its message only',
    thrown: rest(
      403,
      'Forbidden',
      "Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nAssignment: (not found)\r\nDenyAssignmentId: null",
    ),
    code: 'keyvault_role_missing',
    fix: /Key Vault Secrets User/,
  },
  {
    name: '403 a deny assignment: a role will not help',
    thrown: rest(
      403,
      'Forbidden',
      "Caller is not authorized to perform action on resource.\r\nAssignment: (not found)\r\nDenyAssignmentId: 3f0e1d2c-aaaa-bbbb-cccc-0123456789ab\r\nDecisionReason: 'DeniedWithNoValidRBAC'",
      'ForbiddenByRbac',
    ),
    code: 'keyvault_forbidden',
    fix: /deny assignment \(3f0e1d2c-aaaa-bbbb-cccc-0123456789ab\).*outranks any role/,
  },
  {
    name: '401 AKV10032 another tenant',
    thrown: rest(
      401,
      'Unauthorized',
      'AKV10032: Invalid issuer. Expected one of https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/, found https://sts.windows.net/8f0b9c1e-3a4d-4e5f-9a6b-7c8d9e0f1a2b/.',
    ),
    code: 'keyvault_wrong_tenant',
    fix: /tenant/,
  },
  {
    name: '401 AKV10022 another audience',
    thrown: rest(
      401,
      'Unauthorized',
      'AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com/.',
    ),
    code: 'keyvault_token_rejected',
    fix: /another audience than the vault's \(https:\/\/vault\.azure\.net, no trailing slash\)/,
  },
  {
    name: '401 AKV10000 no token on arrival',
    thrown: rest(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'),
    code: 'keyvault_token_rejected',
    fix: /proxy .* removed the Authorization header/,
  },
  {
    name: '401 a token not valid yet (a clock)',
    thrown: rest(401, 'Unauthorized', 'Token not yet valid (Activity ID: 6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b)'),
    code: 'keyvault_token_rejected',
    fix: /clock/,
  },
  {
    name: '401 AKV10046 a signing key the vault could not resolve (passes)',
    thrown: rest(
      401,
      'Unauthorized',
      "AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: 'eyJ0eXAi'",
    ),
    code: 'keyvault_unavailable',
    fix: /usually passes/,
  },
  {
    name: '404 SecretNotFound with its soft-delete hint',
    thrown: rest(
      404,
      'SecretNotFound',
      'A secret with (name/id) speech-key was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.',
    ),
    code: 'secret_not_found',
    fix: /recover it .*az keyvault secret recover.*purge it .*409 Conflict/,
  },
  {
    name: '409 Conflict: deleted but recoverable',
    thrown: rest(
      409,
      'Conflict',
      'Secret speech-key is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.',
    ),
    code: 'secret_not_found',
    fix: /recover it/,
  },
  {
    name: '400 BadParameter for an API version the cloud does not serve',
    thrown: rest(
      400,
      'BadParameter',
      "The specified version (7.6) is not recognized. Consider using the latest supported version ('7.4').",
    ),
    code: 'keyvault_bad_request',
    fix: /API version/,
  },
  {
    name: '429 Throttled',
    thrown: rest(429, 'Throttled', 'Request was not processed because too many requests were received.'),
    code: 'keyvault_throttled',
    fix: /SECRET_MAX_AGE_MINUTES/,
  },
  {
    name: 'a TLS-inspecting proxy (RestError carrying the TLS code)',
    thrown: new RestError('self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    code: 'tls_untrusted',
    fix: /NODE_EXTRA_CA_CERTS/,
  },
  {
    name: 'an expired certificate',
    thrown: new RestError('certificate has expired', { code: 'CERT_HAS_EXPIRED' }),
    code: 'tls_untrusted',
    fix: /out of date/,
  },
  {
    name: 'a certificate for another host',
    thrown: new RestError("Hostname/IP does not match certificate's altnames", {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    }),
    code: 'tls_untrusted',
    fix: /names other hosts/,
  },
];

describe("every refusal Key Vault's references name gets its own code and fix", () => {
  it.each(DOCUMENTED)('$name: $code', ({ thrown, code, fix }) => {
    const error = classifyKeyVaultFailure(thrown, read);
    expect(error.code).toBe(code);
    expect(error.fix).toMatch(fix);
    expect(error.diagnosis).not.toMatch(/[\r\n]/);
    // Only a missing role is answered with a role.
    if (code !== 'keyvault_role_missing') expect(error.fix).not.toMatch(/^Grant|grant the function app's identity/);
  });

  it("the 404 keeps Key Vault's own soft-delete hint in the diagnosis", () => {
    const [notFound] = DOCUMENTED.filter((c) => c.name.startsWith('404'));
    expect(classifyKeyVaultFailure(notFound?.thrown, read).diagnosis).toContain(
      'If you recently deleted this secret you may be able to recover it',
    );
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
