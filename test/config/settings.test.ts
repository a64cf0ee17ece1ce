import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../src/config/schedule.js';
import {
  ConfigurationError,
  DEFAULT_KEY_ROTATION_SCHEDULE,
  DEFAULT_SELF_CHECK_SCHEDULE,
  loadConfig,
  type ConfigProblem,
  type Environment,
} from '../../src/config/settings.js';
import { shortestInterval } from '../../src/config/operationsSettings.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function env(resources: unknown[], overrides: Environment = {}): Environment {
  return {
    AUTH_TENANT_ID: TENANT,
    AUTH_AUDIENCES: 'api://token-vending',
    KEY_VAULT_URI: 'https://kv.vault.azure.net',
    TOKEN_RESOURCES: JSON.stringify(resources),
    ...overrides,
  };
}

const speech = {
  name: 'speech',
  kind: 'speech',
  region: 'japanwest',
  secretName: 'speech-key',
  allowedRoles: ['Speech.Token'],
};

function problems(environment: Environment): ConfigProblem[] {
  try {
    loadConfig(environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).problems];
  }
  throw new Error('expected a ConfigurationError');
}

function messages(environment: Environment): string[] {
  return problems(environment).map((p) => `${p.setting}${p.resource ? `[${p.resource}]` : ''}: ${p.message}`);
}

describe('loadConfig', () => {
  it('parses the design example with defaults', () => {
    const config = loadConfig(env([speech]));
    expect(config).toEqual({
      auth: {
        tenantId: TENANT,
        audiences: ['api://token-vending'],
        authorityHost: 'https://login.microsoftonline.com',
        cloud: 'AzureCloud',
        allowedClientApps: [],
      },
      identity: { managedIdentity: false, clientId: undefined },
      keyVaultUri: 'https://kv.vault.azure.net',
      rateLimitPerMinute: 60,
      secretMaxAgeMs: 60 * 60_000,
      rotation: {
        periodDays: 0,
        schedule: expect.objectContaining({ expression: '0 0 */6 * * *' }),
        armEndpoint: null,
        leaseBlobServiceUrl: null,
      },
      resources: [
        {
          name: 'speech',
          kind: 'speech',
          cloud: 'AzureCloud',
          region: 'japanwest',
          endpoint: null,
          privateEndpoint: false,
          secretName: 'speech-key',
          allowedRoles: ['Speech.Token'],
          allowedScopes: [],
          resourceId: null,
        },
      ],
      operations: {
        operatorRoles: ['TokenVending.Operator'],
        selfCheckSchedule: expect.objectContaining({ expression: '0 */5 * * * *' }),
      },
      telemetry: { export: 'off' },
      warnings: [],
    });
  });

  it('reads OPERATOR_ROLES and SELF_CHECK_SCHEDULE, blank counting as unset', () => {
    const config = loadConfig(
      env([speech], { OPERATOR_ROLES: ' Ops.Read , TokenVending.Operator ', SELF_CHECK_SCHEDULE: '0 */15 * * * *' }),
    );
    expect(config.operations.operatorRoles).toEqual(['Ops.Read', 'TokenVending.Operator']);
    expect(config.operations.selfCheckSchedule.expression).toBe('0 */15 * * * *');
    const defaults = loadConfig(env([speech], { OPERATOR_ROLES: ' , ', SELF_CHECK_SCHEDULE: ' ' }));
    expect(defaults.operations.operatorRoles).toEqual(['TokenVending.Operator']);
    expect(defaults.operations.selfCheckSchedule.expression).toBe('0 */5 * * * *');
  });

  it.each([
    ['self-check', DEFAULT_SELF_CHECK_SCHEDULE, 5 * 60_000],
    ['key rotation', DEFAULT_KEY_ROTATION_SCHEDULE, 6 * 3_600_000],
  ] as const)(
    'trusts the default %s schedule without parsing it at start-up: it is valid, and runs as croner reads it',
    (timer, expression, interval) => {
      const parsed = parseSchedule(expression);
      if (!parsed.ok) throw new Error(parsed.problem);
      expect(shortestInterval(parsed.schedule)).toBe(interval);
      const config = loadConfig(env([speech]));
      const trusted = timer === 'self-check' ? config.operations.selfCheckSchedule : config.rotation.schedule;
      expect(trusted.expression).toBe(expression);
      for (const at of ['2026-11-29T12:03:10Z', '2026-11-29T23:59:59.999Z', '2027-03-28T01:00:00Z'])
        expect(trusted.nextAfter(Date.parse(at))).toBe(parsed.schedule.nextAfter(Date.parse(at)));
    },
  );

  it.each([
    ['a role with a space', { OPERATOR_ROLES: 'Token Vending Operator' }, /OPERATOR_ROLES: must be app role values/],
    ['a role starting with a dot', { OPERATOR_ROLES: 'Ops,.hidden' }, /OPERATOR_ROLES: .*"\.hidden"/],
    ['a Unix cron schedule', { SELF_CHECK_SCHEDULE: '*/5 * * * *' }, /SELF_CHECK_SCHEDULE: .*six fields/],
    [
      'a schedule firing every second',
      { SELF_CHECK_SCHEDULE: '* * * * * *' },
      /SELF_CHECK_SCHEDULE: .*more than once a minute/,
    ],
    ['a schedule that never fires', { SELF_CHECK_SCHEDULE: '0 0 0 30 2 *' }, /SELF_CHECK_SCHEDULE: .*never fires/],
  ])('refuses %s at start-up with the other problems', (_, overrides, expected) => {
    const found = messages({ ...env([speech]), ...overrides, KEY_VAULT_URI: 'http://kv.vault.azure.net' });
    expect(
      found.some((m) => expected.test(m)),
      found.join('\n'),
    ).toBe(true);
    expect(
      found.some((m) => m.startsWith('KEY_VAULT_URI')),
      found.join('\n'),
    ).toBe(true);
  });

  it('reads where telemetry goes, and never refuses to start over it', () => {
    const iKey = '00000000-0000-4000-8000-000000000001';
    const connection = `InstrumentationKey=${iKey};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/`;
    const telemetry = (overrides: Environment) => loadConfig(env([speech], overrides)).telemetry;
    expect(telemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: ' ' })).toEqual({ export: 'off' });
    expect(
      telemetry({
        APPLICATIONINSIGHTS_CONNECTION_STRING: connection,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD',
      }),
    ).toEqual({
      export: 'azure-monitor',
      connectionString: connection,
      ingestionEndpoint: 'https://westeurope-5.in.applicationinsights.azure.com',
      entra: { clientId: '11111111-2222-3333-4444-555555555555' },
      exportIntervalMs: 60_000,
    });
    expect(
      telemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: connection, OTEL_METRIC_EXPORT_INTERVAL: '15000' }),
    ).toMatchObject({ exportIntervalMs: 15_000 });
    expect(telemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${iKey}` })).toMatchObject({
      export: 'azure-monitor',
      ingestionEndpoint: 'https://dc.services.visualstudio.com',
      entra: undefined,
    });
    expect(
      telemetry({
        APPLICATIONINSIGHTS_CONNECTION_STRING: connection,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      }),
    ).toMatchObject({ entra: { clientId: undefined } });
    for (const [overrides, problem] of [
      [{ APPLICATIONINSIGHTS_CONNECTION_STRING: 'not a connection string' }, /no InstrumentationKey that is a GUID/],
      [
        { APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${iKey};IngestionEndpoint=http://example.com` },
        /not https/,
      ],
      [{ APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${iKey};IngestionEndpoint=::` }, /not a URL/],
      [
        { APPLICATIONINSIGHTS_CONNECTION_STRING: connection, OTEL_METRIC_EXPORT_INTERVAL: '5s' },
        /OTEL_METRIC_EXPORT_INTERVAL/,
      ],
      [
        {
          APPLICATIONINSIGHTS_CONNECTION_STRING: connection,
          APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=ikey',
        },
        /Authorization=AAD/,
      ],
      [
        {
          APPLICATIONINSIGHTS_CONNECTION_STRING: connection,
          APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=me',
        },
        /ClientId that is not a GUID/,
      ],
    ] as const) {
      expect(telemetry(overrides)).toEqual({
        export: 'invalid',
        problem: expect.stringMatching(problem),
        fix: expect.any(String),
      });
    }
  });

  it('splits and trims audiences, reads the rate limit, and treats blank settings as unset', () => {
    const config = loadConfig(
      env([speech], {
        AUTH_AUDIENCES: ' api://x , 11111111-1111-1111-1111-111111111111 ',
        RATE_LIMIT_PER_MINUTE: '0',
        AUTH_AUTHORITY_HOST: '  ',
      }),
    );
    expect(config.auth.audiences).toEqual(['api://x', '11111111-1111-1111-1111-111111111111']);
    expect(config.rateLimitPerMinute).toBe(0);
    expect(config.auth.authorityHost).toBe('https://login.microsoftonline.com');
  });

  it('defaults the authority to the cloud of the resources, and knows a sovereign host given explicitly', () => {
    const china = { ...speech, cloud: 'AzureChinaCloud', region: 'chinaeast2' };
    expect(loadConfig(env([china])).auth).toMatchObject({
      authorityHost: 'https://login.chinacloudapi.cn',
      cloud: 'AzureChinaCloud',
    });
    const gov = loadConfig(env([speech], { AUTH_AUTHORITY_HOST: 'https://login.microsoftonline.us/' }));
    expect(gov.auth).toMatchObject({ authorityHost: 'https://login.microsoftonline.us', cloud: 'AzureUSGovernment' });
    const loopback = loadConfig(env([speech], { AUTH_AUTHORITY_HOST: 'http://127.0.0.1:4000' }));
    expect(loopback.auth).toMatchObject({ authorityHost: 'http://127.0.0.1:4000', cloud: 'AzureCloud' });
  });

  it.each([
    ['https://login.partner.microsoftonline.cn', 'AzureChinaCloud'],
    ['https://login.chinacloudapi.cn/', 'AzureChinaCloud'],
    ['https://login.usgovcloudapi.net', 'AzureUSGovernment'],
    ['https://login.microsoftonline.us', 'AzureUSGovernment'],
    ['https://login.windows.net', 'AzureCloud'],
    ['https://login.microsoft.com', 'AzureCloud'],
  ])(
    'the authority host %s names %s, whose v1.0 issuers are accepted, with resources in several clouds',
    (host, cloud) => {
      const china = {
        ...speech,
        name: 'speech-cn',
        cloud: 'AzureChinaCloud',
        region: 'chinaeast2',
        secretName: 'cn-key',
      };
      const config = loadConfig(env([speech, china], { AUTH_AUTHORITY_HOST: host }));
      expect(config.auth).toMatchObject({ authorityHost: host.replace(/\/$/, ''), cloud });
      expect(config.warnings).toEqual([]);
    },
  );

  it('an authority host that is no known Entra host is used, with a warning naming the issuers accepted', () => {
    const config = loadConfig(env([speech], { AUTH_AUTHORITY_HOST: 'https://login.contoso-proxy.example' }));
    expect(config.auth.cloud).toBe('AzureCloud');
    expect(config.warnings).toEqual([
      expect.objectContaining({
        setting: 'AUTH_AUTHORITY_HOST',
        message: expect.stringMatching(
          /is not a known Entra authority host \(login\.microsoftonline\.com, .*login\.partner\.microsoftonline\.cn/,
        ),
      }),
    ]);
  });

  it('normalises a display name region such as "Japan West"', () => {
    expect(loadConfig(env([{ ...speech, region: 'Japan West' }])).resources[0]?.region).toBe('japanwest');
  });

  it('accepts a custom subdomain with its region, without a trailing slash', () => {
    const resource = loadConfig(env([{ ...speech, endpoint: 'https://contoso.cognitiveservices.azure.com/' }]))
      .resources[0];
    expect(resource).toMatchObject({
      region: 'japanwest',
      endpoint: 'https://contoso.cognitiveservices.azure.com',
      privateEndpoint: false,
    });
  });

  it('accepts a custom subdomain behind a private endpoint without a region', () => {
    const resource = loadConfig(
      env([
        {
          ...speech,
          region: undefined,
          endpoint: 'https://contoso.cognitiveservices.azure.com',
          privateEndpoint: true,
        },
      ]),
    ).resources[0];
    expect(resource).toMatchObject({ region: null, privateEndpoint: true });
  });

  it('accepts a global Translator and the wider Translator region list', () => {
    const config = loadConfig(
      env([
        { name: 't1', kind: 'translator', region: 'global', secretName: 't1', allowedScopes: ['Translate'] },
        { name: 't2', kind: 'Translator', region: 'polandcentral', secretName: 't2', allowedScopes: ['Translate'] },
      ]),
    );
    expect(config.resources.map((r) => [r.kind, r.region])).toEqual([
      ['translator', 'global'],
      ['translator', 'polandcentral'],
    ]);
  });

  it('lists every problem at once, each naming its setting', () => {
    const found = problems({
      TOKEN_RESOURCES: ' ',
      RATE_LIMIT_PER_MINUTE: 'lots',
      AUTH_AUTHORITY_HOST: 'http://login.example.com',
    });
    expect(found.map((p) => p.setting).sort()).toEqual([
      'AUTH_AUDIENCES',
      'AUTH_AUTHORITY_HOST',
      'AUTH_TENANT_ID',
      'KEY_VAULT_URI',
      'RATE_LIMIT_PER_MINUTE',
      'TOKEN_RESOURCES',
    ]);
    const error = new ConfigurationError(found);
    expect(error.message).toMatch(/^Invalid configuration \(6 problems\)/);
  });

  it.each([
    ['a domain as tenant', { AUTH_TENANT_ID: 'contoso.onmicrosoft.com' }, /AUTH_TENANT_ID: must be the tenant GUID/],
    ['an http vault', { KEY_VAULT_URI: 'http://kv.vault.azure.net' }, /KEY_VAULT_URI: .*must use https/],
    [
      'an http loopback vault',
      { KEY_VAULT_URI: 'http://127.0.0.1:8443' },
      /KEY_VAULT_URI: must use https, even on loopback/,
    ],
    [
      'a vault URI with a path',
      { KEY_VAULT_URI: 'https://kv.vault.azure.net/secrets/x' },
      /without a path; use https:\/\/kv.vault.azure.net/,
    ],
    ['a negative rate limit', { RATE_LIMIT_PER_MINUTE: '-1' }, /RATE_LIMIT_PER_MINUTE: must be a whole number/],
  ])('refuses %s', (_, overrides, expected) => {
    expect(messages(env([speech], overrides)).join('\n')).toMatch(expected);
  });

  it.each([
    ['TOKEN_RESOURCES that is not JSON', '[{name:', /TOKEN_RESOURCES: is not valid JSON/],
    ['TOKEN_RESOURCES that is an object', '{"name":"speech"}', /must be a non-empty JSON array/],
    ['an empty TOKEN_RESOURCES', '[]', /must be a non-empty JSON array/],
  ])('refuses %s', (_, value, expected) => {
    expect(messages(env([], { TOKEN_RESOURCES: value })).join('\n')).toMatch(expected);
  });

  it.each([
    [
      'a China region under AzureCloud',
      { region: 'chinaeast2' },
      /\[speech\]: region "chinaeast2" belongs to AzureChinaCloud, not AzureCloud; set "cloud": "AzureChinaCloud"/,
    ],
    ['a US Gov region under AzureCloud', { region: 'usgovvirginia' }, /belongs to AzureUSGovernment/],
    [
      'a public region under AzureChinaCloud',
      { region: 'westeurope', cloud: 'AzureChinaCloud' },
      /"cloud" is AzureChinaCloud, but region "westeurope" belongs to AzureCloud.*for a resource in AzureCloud, set "cloud": "AzureCloud"/,
    ],
    ['a region typo', { region: 'japanwset' }, /unknown region "japanwset" .*did you mean "japanwest"\?/],
    [
      'a region far from any',
      { region: 'atlantis' },
      /unknown region "atlantis".*valid speech regions in AzureCloud: southafricanorth/,
    ],
    [
      'an unknown cloud',
      { cloud: 'AzureGermanCloud' },
      /unknown cloud "AzureGermanCloud"; use one of AzureCloud, AzureChinaCloud, AzureUSGovernment/,
    ],
    ['an unknown kind', { kind: 'vision' }, /unknown kind "vision"; use one of speech, translator, cognitive/],
    [
      'an http endpoint that is not loopback',
      { region: undefined, endpoint: 'http://contoso.cognitiveservices.azure.com' },
      /must use https \(plain http is allowed only for loopback/,
    ],
    [
      'a China custom subdomain under AzureCloud',
      { region: undefined, endpoint: 'https://x.cognitiveservices.azure.cn' },
      /custom subdomain in AzureChinaCloud, not AzureCloud/,
    ],
    [
      'a regional endpoint given as endpoint',
      { region: undefined, endpoint: 'https://westeurope.api.cognitive.microsoft.com' },
      /is a regional endpoint shared by every resource of westeurope in AzureCloud, not a custom subdomain; use "region": "westeurope"/,
    ],
    [
      'an endpoint elsewhere',
      { region: undefined, endpoint: 'https://evil.example.com' },
      /must be the resource's custom subdomain, https:\/\/evil.cognitiveservices.azure.com/,
    ],
    [
      'an endpoint without a region and no private endpoint',
      { region: undefined, endpoint: 'https://x.cognitiveservices.azure.com' },
      /"endpoint" needs "region" as well.*served at the regional hosts.*"privateEndpoint": true/,
    ],
    ['privateEndpoint without an endpoint', { privateEndpoint: true }, /"privateEndpoint": true needs "endpoint"/],
    ['privateEndpoint that is not a boolean', { privateEndpoint: 'yes' }, /"privateEndpoint": /],
    ['neither region nor endpoint', { region: undefined }, /needs "region"/],
    ['a missing secretName', { secretName: undefined }, /"secretName" is required/],
    ['an invalid secretName', { secretName: 'speech_key' }, /not a valid Key Vault secret name/],
    ['a resource that grants nobody', { allowedRoles: [], allowedScopes: [] }, /grants nobody/],
    ['an unknown field', { allowedRole: ['x'] }, /unknown field "allowedRole"/],
    ['roles that are not strings', { allowedRoles: 'Speech.Token' }, /"allowedRoles": /],
  ])('refuses %s, naming the resource', (_, overrides, expected) => {
    expect(messages(env([{ ...speech, ...overrides }])).join('\n')).toMatch(expected);
  });

  it('refuses duplicate names case-insensitively and a name unfit for a URL', () => {
    const text = messages(env([speech, { ...speech, name: 'Speech' }, { ...speech, name: 'my speech' }])).join('\n');
    expect(text).toMatch(/\[Speech\]: duplicate name/);
    expect(text).toMatch(/\[my speech\]: "name" may hold letters, digits/);
  });

  it('names a nameless resource by its position', () => {
    expect(messages(env([speech, { kind: 'speech' }])).join('\n')).toMatch(/\[#2\]: "name" is required/);
  });

  it('never echoes a secret-looking value in a problem', () => {
    const key = '0123456789abcdef0123456789abcdef';
    const text = messages(env([{ ...speech, secretName: undefined, key }])).join('\n');
    expect(text).not.toContain(key);
  });
});

describe('identity settings that would let no caller through', () => {
  const scoped = { ...speech, allowedRoles: [], allowedScopes: ['Tokens.Request'] };

  it.each([
    ['the scope callers ask for', 'api://token-vending/Tokens.Request', 'api://token-vending'],
    ['the .default scope', 'api://token-vending/.default', 'api://token-vending'],
    [
      'a common delegated scope',
      'api://3f0e1d2c-aaaa-bbbb-cccc-0123456789ab/user_impersonation',
      'api://3f0e1d2c-aaaa-bbbb-cccc-0123456789ab',
    ],
  ])('AUTH_AUDIENCES holding %s is refused, with the audience suggested', (_, audience, suggested) => {
    expect(
      messages(env([scoped], { AUTH_AUDIENCES: `${audience},3f0e1d2c-aaaa-bbbb-cccc-0123456789ab` })).join('\n'),
    ).toContain(
      `AUTH_AUDIENCES: "${audience}" is a scope (what a client asks for), not an audience (what the token's aud carries); use "${suggested}"`,
    );
  });

  it('an App ID URI with a path of its own is still an audience', () => {
    expect(() =>
      loadConfig(env([scoped], { AUTH_AUDIENCES: 'https://contoso.onmicrosoft.com/token-vending' })),
    ).not.toThrow();
  });

  it.each([['api://token-vending/Tokens.Request'], ['https://contoso.onmicrosoft.com/api/Tokens.Request']])(
    'allowedScopes holding the full scope %s is refused, with the bare value suggested',
    (scope) => {
      expect(messages(env([{ ...speech, allowedScopes: [scope] }])).join('\n')).toContain(
        `"allowedScopes" holds "${scope}", a full scope; the scp claim carries only its value: use "Tokens.Request"`,
      );
    },
  );
});

describe('loadConfig: key rotation', () => {
  const accountId =
    '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/speech-weu';
  const rotated = { ...speech, resourceId: accountId };

  it("reads the period, schedule, secret age and ARM endpoint, and each resource's account", () => {
    const config = loadConfig(
      env([rotated, { ...speech, name: 'other', secretName: 'other-key' }], {
        KEY_ROTATION_DAYS: '30',
        KEY_ROTATION_SCHEDULE: ' 0 30 2 * * * ',
        SECRET_MAX_AGE_MINUTES: '15',
        ARM_ENDPOINT: 'https://127.0.0.1:8443/',
      }),
    );
    expect(config.rotation).toEqual({
      periodDays: 30,
      schedule: expect.objectContaining({ expression: '0 30 2 * * *' }),
      armEndpoint: 'https://127.0.0.1:8443',
      leaseBlobServiceUrl: null,
    });
    expect(config.secretMaxAgeMs).toBe(15 * 60_000);
    expect(config.resources.map((r) => r.resourceId)).toEqual([accountId, null]);
  });

  it('takes an ARM ID in any case and without a trailing slash, as ARM compares them', () => {
    const lower = accountId.toLowerCase();
    expect(loadConfig(env([{ ...speech, resourceId: `${lower}/` }])).resources[0]?.resourceId).toBe(lower);
  });

  it('0 or blank turns scheduled rotation off, with or without resources to rotate', () => {
    expect(loadConfig(env([speech], { KEY_ROTATION_DAYS: '0' })).rotation.periodDays).toBe(0);
    expect(loadConfig(env([rotated], { KEY_ROTATION_DAYS: ' ' })).rotation.periodDays).toBe(0);
  });

  it.each([
    [
      'a period over a year',
      { KEY_ROTATION_DAYS: '366' },
      /KEY_ROTATION_DAYS: must be a whole number of days from 1 to 365/,
    ],
    ['a fractional period', { KEY_ROTATION_DAYS: '1.5' }, /KEY_ROTATION_DAYS: must be a whole number/],
    [
      'a five-field schedule',
      { KEY_ROTATION_SCHEDULE: '0 */6 * * *' },
      /KEY_ROTATION_SCHEDULE: "0 \*\/6 \* \* \*" is not an NCRONTAB schedule/,
    ],
    [
      'a secret age of 0',
      { SECRET_MAX_AGE_MINUTES: '0' },
      /SECRET_MAX_AGE_MINUTES: must be a whole number of minutes from 1 to 1440/,
    ],
    [
      'a secret age as long as the period',
      { KEY_ROTATION_DAYS: '1', SECRET_MAX_AGE_MINUTES: '1440' },
      /SECRET_MAX_AGE_MINUTES: \(1440\) plus 5 minutes must be shorter than KEY_ROTATION_DAYS \(1\)/,
    ],
    [
      'an http ARM endpoint, even on loopback',
      { ARM_ENDPOINT: 'http://127.0.0.1:8443' },
      /ARM_ENDPOINT: must use https, even on loopback/,
    ],
  ])('refuses %s', (_, overrides, expected) => {
    expect(messages(env([rotated], overrides)).join('\n')).toMatch(expected);
  });

  it('refuses rotation turned on with no resource to rotate', () => {
    expect(messages(env([speech], { KEY_ROTATION_DAYS: '30' })).join('\n')).toMatch(
      /KEY_ROTATION_DAYS: is set, but no resource in TOKEN_RESOURCES has a "resourceId", so nothing would be rotated/,
    );
  });

  it.each([
    [
      'a subscription ID',
      '0b1f6471-1bf0-4dda-aec3-111122223333',
      /"resourceId" is a GUID, probably the subscription ID/,
    ],
    [
      'another kind of resource',
      '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv',
      /"resourceId" names a Microsoft.KeyVault\/vaults resource, not a Cognitive Services account/,
    ],
    [
      'a resource group ID',
      '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg',
      /"resourceId" must be the ARM ID/,
    ],
    ['an account name alone', 'speech-weu', /"resourceId" must be the ARM ID/],
    ['not a string', 42, /"resourceId": /],
  ])('refuses a resourceId that is %s', (_, resourceId, expected) => {
    expect(messages(env([{ ...speech, resourceId }])).join('\n')).toMatch(expected);
  });

  it('refuses one account behind two secrets, and one secret for two accounts', () => {
    const other = accountId.replace('speech-weu', 'speech-jpw');
    const text = messages(
      env([
        rotated,
        { ...rotated, name: 'speech-2', secretName: 'speech-2-key' },
        { ...speech, name: 'speech-3', resourceId: other },
      ]),
    ).join('\n');
    expect(text).toMatch(/\[speech-2\]: has the same "resourceId" as "speech" but another secret/);
    expect(text).toMatch(/\[speech-3\]: uses secret "speech-key" like "speech", but with another "resourceId"/);
    // One account behind two resource names that share its secret is fine: rotated once.
    expect(loadConfig(env([rotated, { ...rotated, name: 'speech-2', kind: 'cognitive' }])).resources).toHaveLength(2);
  });
});
