import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig, type Environment } from '../../src/config/settings.js';

// Every form an AUTH_AUDIENCES value takes: those a token's aud can carry are accepted (in the
// spelling the verifier compares), those it never can are refused at start-up with the form to use.

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '3f0e1d2c-aaaa-4bbb-8ccc-0123456789ab';

function env(audiences: string): Environment {
  return {
    AUTH_TENANT_ID: TENANT,
    AUTH_AUDIENCES: audiences,
    KEY_VAULT_URI: 'https://kv.vault.azure.net',
    TOKEN_RESOURCES: JSON.stringify([
      {
        name: 'speech',
        kind: 'speech',
        region: 'westeurope',
        secretName: 'speech-key',
        allowedScopes: ['Speech.Use'],
      },
    ]),
  };
}

function refusal(audiences: string): string {
  try {
    loadConfig(env(audiences));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.problems
      .filter((p) => p.setting === 'AUTH_AUDIENCES')
      .map((p) => p.message)
      .join('\n');
  }
  throw new Error(`expected ${audiences} to be refused`);
}

describe('AUTH_AUDIENCES: forms a token can carry are accepted', () => {
  it.each([
    ['a client ID', CLIENT_ID, CLIENT_ID],
    ['a client ID in upper case (aud is lower case)', CLIENT_ID.toUpperCase(), CLIENT_ID],
    ['api://{client ID}', `api://${CLIENT_ID}`, `api://${CLIENT_ID}`],
    ['api://{tenant ID}/{client ID}', `api://${TENANT}/${CLIENT_ID}`, `api://${TENANT}/${CLIENT_ID}`],
    ['api://{tenant ID}/{string}', `api://${TENANT}/api`, `api://${TENANT}/api`],
    ['api://{string}', 'api://token-vending', 'api://token-vending'],
    ['api://{domain}/{path}', 'api://contoso.com/productsapi', 'api://contoso.com/productsapi'],
    [
      'https://{initial domain}/{path}',
      'https://contoso.onmicrosoft.com/token-vending',
      'https://contoso.onmicrosoft.com/token-vending',
    ],
    ['https://{host} of a verified domain', 'https://tokens.contoso.com', 'https://tokens.contoso.com'],
    ['an App ID URI with a trailing slash', 'api://token-vending/', 'api://token-vending'],
    [
      'a China tenant App ID URI',
      'https://contoso.partner.onmschina.cn/productsapi',
      'https://contoso.partner.onmschina.cn/productsapi',
    ],
  ])('%s: %s', (_, value, expected) => {
    expect(loadConfig(env(value)).auth.audiences).toEqual([expected]);
  });

  it('several, with spaces around the commas', () => {
    expect(loadConfig(env(` ${CLIENT_ID} , api://token-vending `)).auth.audiences).toEqual([
      CLIENT_ID,
      'api://token-vending',
    ]);
  });
});

describe('AUTH_AUDIENCES: forms no token can carry are refused with the form to use', () => {
  it.each([
    ['the .default scope', 'api://token-vending/.default', /is a scope .*use "api:\/\/token-vending"/],
    ['a scope of the resources', 'api://token-vending/Speech.Use', /is a scope .*use "api:\/\/token-vending"/],
    ['a common scope', `api://${CLIENT_ID}/access_as_user`, new RegExp(`is a scope .*use "api://${CLIENT_ID}"`)],
    [
      'a dotted scope no resource lists',
      'api://token-vending/Tokens.Request',
      /is a scope .*use "api:\/\/token-vending"/,
    ],
    ['a scope of a GUID audience', `${CLIENT_ID}/.default`, new RegExp(`is a scope .*use "${CLIENT_ID}"`)],
    ['a quoted value', `"${CLIENT_ID}"`, new RegExp(`is quoted.*use ${CLIENT_ID}`)],
    ['a braced GUID', `{${CLIENT_ID}}`, new RegExp(`braces around the GUID.*use ${CLIENT_ID}`)],
    ['scopes pasted together', 'api://token-vending/.default openid', /holds whitespace: a token's aud is one value/],
    ['a name', 'token-vending', /neither an application \(client\) ID .* nor an App ID URI/],
    ['a domain', 'contoso.onmicrosoft.com', /a name or a domain alone is never a token's aud/],
    ['a query', 'api://token-vending?x=1', /has a query or fragment.*use api:\/\/token-vending$/],
    ['the tenant ID', TENANT, /is the tenant ID \(AUTH_TENANT_ID\)/],
    ['a tenant-qualified client ID', `${CLIENT_ID}@${TENANT}`, new RegExp(`tenant-qualified.*use ${CLIENT_ID}`)],
    ['Microsoft Graph', 'https://graph.microsoft.com', /is the audience of Microsoft Graph, not of this API/],
    ['Microsoft Graph with a slash', 'https://graph.microsoft.com/', /is the audience of Microsoft Graph/],
    ["Microsoft Graph's .default", 'https://graph.microsoft.com/.default', /is the audience of Microsoft Graph/],
    ['a Graph scope', 'https://graph.microsoft.com/User.Read', /is the audience of Microsoft Graph/],
    ["Microsoft Graph's app ID", '00000003-0000-0000-c000-000000000000', /is the audience of Microsoft Graph/],
    ['Graph in US Government', 'https://graph.microsoft.us', /is the audience of Microsoft Graph/],
    ['Graph in Azure China', 'https://microsoftgraph.chinacloudapi.cn', /is the audience of Microsoft Graph/],
    ['Azure Resource Manager', 'https://management.azure.com/', /is the audience of Azure Resource Manager/],
    ['Key Vault', 'https://vault.azure.net', /is the audience of Azure Key Vault/],
    ['Azure AI services', 'https://cognitiveservices.azure.com/.default', /is the audience of Azure AI services/],
  ])('%s: %s', (_, value, expected) => {
    expect(refusal(value)).toMatch(expected);
  });

  it('lists each refused value with the accepted ones beside it', () => {
    const text = refusal(`${CLIENT_ID},https://graph.microsoft.com,api://token-vending/.default`);
    expect(text.split('\n')).toHaveLength(2);
  });
});
