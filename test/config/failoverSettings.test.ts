import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig, type Environment } from '../../src/config/settings.js';
import { allMembers, membersOf } from '../../src/model.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ACCOUNT = (name: string) =>
  `/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/${name}`;

function env(resources: unknown[]): Environment {
  return {
    AUTH_TENANT_ID: TENANT,
    AUTH_AUDIENCES: 'api://token-vending',
    KEY_VAULT_URI: 'https://kv.vault.azure.net',
    TOKEN_RESOURCES: JSON.stringify(resources),
  };
}

const speech = {
  name: 'speech',
  kind: 'speech',
  region: 'japanwest',
  secretName: 'speech-key',
  allowedRoles: ['Speech.Token'],
  allowedScopes: ['Speech.Use'],
  resourceId: ACCOUNT('speech-jpw'),
};

function messages(resources: unknown[]): string[] {
  try {
    loadConfig(env(resources));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.problems.map((p) => `${p.resource ?? ''}: ${p.message}`);
  }
  throw new Error('expected a ConfigurationError');
}

describe('failover settings', () => {
  it('a fallback names what differs and inherits the rest, but not the account ID', () => {
    const config = loadConfig(
      env([
        {
          ...speech,
          failover: [
            { region: 'japaneast', secretName: 'speech-east-key', resourceId: ACCOUNT('speech-jpe') },
            { region: 'koreacentral', secretName: 'speech-korea-key' },
          ],
        },
      ]),
    );
    const [resource] = config.resources;
    expect(config.resources).toHaveLength(1);
    expect(membersOf(resource!).map((m) => [m.name, m.region, m.secretName, m.resourceId])).toEqual([
      ['speech', 'japanwest', 'speech-key', ACCOUNT('speech-jpw')],
      ['speech.failover[0]', 'japaneast', 'speech-east-key', ACCOUNT('speech-jpe')],
      ['speech.failover[1]', 'koreacentral', 'speech-korea-key', null],
    ]);
    expect(resource!.failover?.[0]).toMatchObject({
      kind: 'speech',
      cloud: 'AzureCloud',
      allowedRoles: ['Speech.Token'],
      allowedScopes: ['Speech.Use'],
      endpoint: null,
      privateEndpoint: false,
    });
    expect(allMembers(config.resources)).toHaveLength(3);
  });

  it('a fallback in another cloud, with its own custom subdomain; "endpoint": null drops an inherited one', () => {
    const custom = {
      ...speech,
      resourceId: undefined,
      endpoint: 'https://contoso-speech.cognitiveservices.azure.com',
      region: 'westeurope',
    };
    const config = loadConfig(
      env([
        {
          ...custom,
          failover: [
            { region: 'northeurope', endpoint: 'https://contoso-ne.cognitiveservices.azure.com', secretName: 'ne-key' },
            { region: 'chinaeast2', cloud: 'AzureChinaCloud', endpoint: null, secretName: 'cn-key' },
          ],
        },
      ]),
    );
    expect(config.resources[0]?.failover?.map((m) => [m.cloud, m.region, m.endpoint])).toEqual([
      ['AzureCloud', 'northeurope', 'https://contoso-ne.cognitiveservices.azure.com'],
      ['AzureChinaCloud', 'chinaeast2', null],
    ]);
  });

  it('each fallback is checked as a resource, its problems naming it', () => {
    expect(
      messages([
        {
          ...speech,
          failover: [
            { region: 'japaneast', secretName: 'bad name' },
            { region: 'chinaeast2', secretName: 'cn-key' },
            { region: 'japanesat', secretName: 'x-key' },
          ],
        },
      ]),
    ).toEqual([
      'speech.failover[0]: "secretName" "bad name" is not a valid Key Vault secret name (letters, digits and "-", at most 127)',
      'speech.failover[1]: region "chinaeast2" belongs to AzureChinaCloud, not AzureCloud; set "cloud": "AzureChinaCloud" (keys from one cloud are rejected by the others\' endpoints)',
      'speech.failover[2]: unknown region "japanesat" for a speech resource in AzureCloud; did you mean "japaneast"?',
    ]);
  });

  it('a fallback names only what may differ: roles, kind, name and the fields of other kinds are refused', () => {
    expect(
      messages([
        { ...speech, failover: [{ region: 'japaneast', secretName: 'e-key', allowedRoles: ['X'], deployment: 'd' }] },
      ]),
    ).toEqual([
      'speech.failover[0]: unknown field "allowedRoles"; a fallback names only what differs from "speech": region, cloud, endpoint, privateEndpoint, secretName, resourceId (the rest is inherited)',
      'speech.failover[0]: unknown field "deployment"; a fallback names only what differs from "speech": region, cloud, endpoint, privateEndpoint, secretName, resourceId (the rest is inherited)',
    ]);
  });

  it('a fallback identical to the resource, or to an earlier fallback, is refused', () => {
    expect(
      messages([
        {
          ...speech,
          failover: [
            {},
            { region: 'japanwest', resourceId: ACCOUNT('other') },
            { region: 'japaneast', secretName: 'e-key' },
            { region: 'japaneast', secretName: 'e-key' },
          ],
        },
      ]),
    ).toEqual([
      'speech.failover[0]: is the same as "speech" itself: a fallback must differ in where it is (region, cloud, endpoint) or what it uses (secretName, deployment), or it fails whenever the one before it does',
      'speech.failover[1]: is the same as "speech" itself: a fallback must differ in where it is (region, cloud, endpoint) or what it uses (secretName, deployment), or it fails whenever the one before it does',
      'speech.failover[3]: is the same as "speech.failover[2]": a fallback must differ in where it is (region, cloud, endpoint) or what it uses (secretName, deployment), or it fails whenever the one before it does',
    ]);
  });

  it('an inherited custom subdomain in another region is refused; an inherited secret there is a warning', () => {
    const custom = { ...speech, endpoint: 'https://contoso-speech.cognitiveservices.azure.com', resourceId: undefined };
    expect(messages([{ ...custom, failover: [{ region: 'japaneast', secretName: 'e-key' }] }])).toEqual([
      'speech.failover[0]: inherits "endpoint" from "speech" but names another region or cloud: an endpoint belongs to one resource in one place; give this fallback its own "endpoint" (or "endpoint": null for the regional host)',
    ]);
    const config = loadConfig(env([{ ...speech, resourceId: undefined, failover: [{ region: 'japaneast' }] }]));
    expect(config.warnings).toEqual([
      {
        setting: 'TOKEN_RESOURCES',
        resource: 'speech.failover[0]',
        message:
          'uses the secret of "speech" ("speech-key") somewhere else: a key works only at its own resource; if this fallback is another resource, give it its own "secretName"',
      },
    ]);
  });

  it('"failover" must be a list of objects', () => {
    expect(messages([{ ...speech, failover: { region: 'japaneast' } }])).toEqual([
      'speech: "failover" must be a list of fallbacks, each naming what differs, e.g. [{"region":"japaneast","secretName":"speech-je-key"}]',
    ]);
    expect(messages([{ ...speech, failover: ['japaneast'] }])).toEqual([
      'speech.failover[0]: must be an object naming what differs from "speech" (region, cloud, endpoint, privateEndpoint, secretName, resourceId)',
    ]);
  });

  it("a fallback's account and secret are checked with every other resource's: one account, one secret", () => {
    expect(
      messages([
        {
          ...speech,
          failover: [{ region: 'japaneast', secretName: 'speech-east-key', resourceId: ACCOUNT('speech-jpw') }],
        },
      ]),
    ).toEqual([
      'speech.failover[0]: has the same "resourceId" as "speech" but another secret ("speech-east-key", not "speech-key"): one account has one pair of keys, so rotating one secret would break the other; give both the same "secretName"',
    ]);
  });

  it("key rotation counts a fallback's account as one to rotate", () => {
    const rotated = loadConfig({
      ...env([
        {
          ...speech,
          resourceId: undefined,
          failover: [{ region: 'japaneast', secretName: 'east-key', resourceId: ACCOUNT('speech-jpe') }],
        },
      ]),
      KEY_ROTATION_DAYS: '30',
      AzureWebJobsStorage__accountName: 'stfunc',
    });
    expect(rotated.rotation.periodDays).toBe(30);
  });
});
