import { describe, expect, it } from 'vitest';
import { CLOUDS } from '../../../src/clouds/clouds.js';
import { ConfigurationError, loadConfig, type Environment } from '../../../src/config/settings.js';
import { resolveClientEndpoints, resolveIssueTokenUrl } from '../../../src/kinds/sts/stsEndpoints.js';
import type { StsResource } from '../../../src/kinds/sts/stsResource.js';
import { CLOUD_NAMES, type CloudName } from '../../../src/model.js';

// The STS kinds' start-up checks, for the names and hosts Azure itself shows: Azure's spelling of
// `kind`, Foundry and Azure OpenAI hosts pasted as `endpoint`, cloud/region/endpoint that disagree,
// and Translator behind a private endpoint.

function env(resources: unknown[]): Environment {
  return {
    AUTH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    AUTH_AUDIENCES: 'api://token-vending',
    KEY_VAULT_URI: 'https://kv.vault.azure.net',
    TOKEN_RESOURCES: JSON.stringify(resources),
  };
}

const base = { name: 'r', secretName: 'r-key', allowedRoles: ['Token.Request'] };

function load(resource: Record<string, unknown>) {
  const config = loadConfig(env([{ ...base, ...resource }]));
  return { resource: config.resources[0] as StsResource, warnings: config.warnings.map((w) => w.message) };
}

function refusal(resource: Record<string, unknown>): string {
  try {
    loadConfig(env([{ ...base, ...resource }]));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.problems.map((p) => p.message).join('\n');
  }
  throw new Error('expected the resource to be refused');
}

describe("1. Azure's own names for resources", () => {
  it.each([
    ['AIServices', 'cognitive'],
    ['aiservices', 'cognitive'],
    ['SpeechServices', 'speech'],
    ['SPEECHSERVICES', 'speech'],
    ['TextTranslation', 'translator'],
    ['CognitiveServices', 'cognitive'],
    [' cognitiveServices ', 'cognitive'],
  ])('kind "%s" is accepted as %s', (kind, canonical) => {
    expect(load({ kind, region: 'westeurope' }).resource.kind).toBe(canonical);
  });

  it('kind "OpenAI" is refused for the STS kinds, pointing at openai-realtime', () => {
    expect(refusal({ kind: 'OpenAI', region: 'eastus2' })).toMatch(
      /"kind": "OpenAI" is an Azure OpenAI resource, whose keys are not exchanged at an STS .* use "kind": "openai-realtime"/,
    );
  });

  it.each(['ComputerVision', 'TextAnalytics', 'FormRecognizer', 'Face', 'ContentSafety'])(
    'kind "%s", an account whose API takes no STS token, is refused with the reason',
    (kind) => {
      expect(refusal({ kind, region: 'westeurope' })).toMatch(
        new RegExp(`"kind": "${kind}" is an Azure AI ${kind} resource: its API takes the key .*not an STS token`),
      );
    },
  );

  it('an unknown kind lists the kinds and Azure’s names for them', () => {
    expect(refusal({ kind: 'vision', region: 'westeurope' })).toMatch(
      /unknown kind "vision"; use one of speech, translator, cognitive, openai-realtime \(or Azure's names for them: AIServices, CognitiveServices, SpeechServices, TextTranslation\)/,
    );
  });

  describe.each(CLOUD_NAMES)('a Foundry or Azure OpenAI host in %s', (cloud) => {
    const domain = CLOUDS[cloud].customSubdomainSuffix.replace('cognitiveservices.', '');
    const region = { AzureCloud: 'eastus2', AzureChinaCloud: 'chinaeast2', AzureUSGovernment: 'usgovvirginia' }[cloud];
    const subdomain = `https://contoso-ai.${CLOUDS[cloud].customSubdomainSuffix}`;

    it.each([
      `https://contoso-ai.services.ai.${domain}`,
      `https://contoso-ai.services.ai.${domain}/`,
      `https://contoso-ai.services.ai.${domain}/api/projects/voice-bot`,
      `https://contoso-ai.openai.${domain}`,
      `https://Contoso-AI.openai.${domain}/openai/deployments/gpt-4o`,
    ])('%s is taken to the custom subdomain, said once, and the client endpoints follow', (endpoint) => {
      const { resource, warnings } = load({ kind: 'AIServices', cloud, region, endpoint });
      expect(resource.endpoint).toBe(subdomain);
      expect(resolveIssueTokenUrl(resource)).toBe(`${subdomain}/sts/v1.0/issueToken`);
      expect(warnings).toEqual([expect.stringContaining(`is used as ${subdomain}`)]);
      expect(warnings[0]).toMatch(/Foundry \/ Azure OpenAI host/);
      // Foundry (AIServices) answers carry Speech and Translator like any multi-service resource.
      const endpoints = resolveClientEndpoints(resource);
      expect(endpoints).toMatchObject({
        base: subdomain,
        stt: expect.stringMatching(new RegExp(`^wss://contoso-ai\\.`)),
        text: `${subdomain}/translator/text/v3.0`,
        voicesList: `https://${region}.tts.${CLOUDS[cloud].speechDomain}/cognitiveservices/voices/list`,
      });
    });
  });

  it.each([
    ['the full STS URL', 'https://contoso.cognitiveservices.azure.com/sts/v1.0/issueToken'],
    ['a REST path', 'https://contoso.cognitiveservices.azure.com/tts/cognitiveservices/v1'],
  ])('a custom subdomain with %s keeps its host and says the path was dropped', (_, endpoint) => {
    const { resource, warnings } = load({ kind: 'speech', region: 'westeurope', endpoint });
    expect(resource.endpoint).toBe('https://contoso.cognitiveservices.azure.com');
    expect(warnings).toEqual([expect.stringMatching(/the path is dropped/)]);
  });

  it('a custom subdomain as the portal shows it (trailing slash) is used as is, without a warning', () => {
    const { warnings } = load({
      kind: 'speech',
      region: 'westeurope',
      endpoint: 'https://contoso.cognitiveservices.azure.com/',
    });
    expect(warnings).toEqual([]);
  });

  it.each([
    [
      "a Speech host (the resource's region, not its own host)",
      'https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1',
      /regional endpoint shared by every resource of westeurope in AzureCloud.*use "region": "westeurope"/,
    ],
    [
      "Translator's shared host",
      'https://api.cognitive.microsofttranslator.com',
      /Translator's shared host.*"region" \("global" for a global Translator resource\)/,
    ],
    ["a Translator geography's host", 'https://api-eur.cognitive.microsofttranslator.com/', /Translator's shared host/],
    [
      'the global STS',
      'https://api.cognitive.microsoft.com/sts/v1.0/issueToken',
      /shared by every resource of global in AzureCloud.*use "region": "global"/,
    ],
    [
      'a host that is no Azure AI host: the name is filled in',
      'https://contoso-tr.azurewebsites.net',
      /must be the resource's custom subdomain, https:\/\/contoso-tr\.cognitiveservices\.azure\.com/,
    ],
  ])('an endpoint that is %s is refused with what to use', (_, endpoint, expected) => {
    expect(refusal({ kind: 'translator', region: 'westeurope', endpoint })).toMatch(expected);
  });
});

describe('3. endpoints a token cannot use', () => {
  it('Translator behind a private endpoint is refused at start-up with the reason', () => {
    expect(
      refusal({
        kind: 'translator',
        endpoint: 'https://contoso-tr.cognitiveservices.azure.com',
        privateEndpoint: true,
      }),
    ).toMatch(
      /"privateEndpoint": true: Translator takes no access tokens from a resource reached through a private endpoint or restricted to selected networks .*"Virtual Network support"/,
    );
  });

  it.each(['TextTranslation', 'translator'])('so is kind %s with a region as well', (kind) => {
    expect(
      refusal({
        kind,
        region: 'westeurope',
        endpoint: 'https://contoso-tr.cognitiveservices.azure.com',
        privateEndpoint: true,
      }),
    ).toMatch(/Translator takes no access tokens/);
  });

  it.each(['cognitive', 'AIServices'])(
    'a %s resource behind a private endpoint answers without "text" (and its header)',
    (kind) => {
      const { resource } = load({
        kind,
        endpoint: 'https://contoso-ai.cognitiveservices.azure.com',
        privateEndpoint: true,
      });
      const endpoints = resolveClientEndpoints(resource);
      expect(endpoints.text).toBeUndefined();
      expect(endpoints.ttsRest).toBe('https://contoso-ai.cognitiveservices.azure.com/tts/cognitiveservices/v1');
    },
  );

  it('a cognitive resource on its custom subdomain without a private endpoint keeps "text"', () => {
    const { resource } = load({
      kind: 'cognitive',
      region: 'westeurope',
      endpoint: 'https://contoso-ai.cognitiveservices.azure.com',
    });
    expect(resolveClientEndpoints(resource).text).toBe(
      'https://contoso-ai.cognitiveservices.azure.com/translator/text/v3.0',
    );
  });
});

describe('4. start-up checks that point at the odd field', () => {
  const regionOf: Record<CloudName, string> = {
    AzureCloud: 'westeurope',
    AzureChinaCloud: 'chinanorth3',
    AzureUSGovernment: 'usgovvirginia',
  };
  const endpointOf = (cloud: CloudName) => `https://contoso.${CLOUDS[cloud].customSubdomainSuffix}`;

  it('the field report: US Government cloud and region with a public custom subdomain names the endpoint', () => {
    const message = refusal({
      kind: 'speech',
      cloud: 'AzureUSGovernment',
      region: 'usgovvirginia',
      endpoint: 'https://contoso-gov.cognitiveservices.azure.com',
    });
    expect(message).toBe(
      '"endpoint" contoso-gov.cognitiveservices.azure.com is a custom subdomain in AzureCloud, but "cloud" and "region" say AzureUSGovernment: a custom subdomain in AzureUSGovernment ends in .cognitiveservices.azure.us; use "endpoint": "https://contoso-gov.cognitiveservices.azure.us"',
    );
    expect(message).not.toMatch(/set "cloud"/);
  });

  const cases = CLOUD_NAMES.flatMap((cloud) =>
    CLOUD_NAMES.filter((other) => other !== cloud).flatMap((other) => [
      { cloud, odd: 'endpoint', fields: { cloud, region: regionOf[cloud], endpoint: endpointOf(other) } },
      { cloud, odd: 'region', fields: { cloud, region: regionOf[other], endpoint: endpointOf(cloud) } },
      { cloud, odd: 'cloud', fields: { cloud: other, region: regionOf[cloud], endpoint: endpointOf(cloud) } },
    ]),
  );

  it.each(cases)('$cloud with an odd $odd from another cloud: that field alone is named', ({ cloud, odd, fields }) => {
    const message = refusal({ kind: 'speech', ...fields });
    expect(message.split('\n')).toHaveLength(1);
    if (odd === 'endpoint') {
      expect(message).toMatch(
        /^"endpoint" contoso\.cognitiveservices\.azure\.\w+ is a custom subdomain in \w+, but "cloud" and "region" say/,
      );
      expect(message).toContain(`use "endpoint": "${endpointOf(cloud)}"`);
    } else if (odd === 'region') {
      expect(message).toMatch(
        new RegExp(`^region "${fields.region}" is in \\w+, but "cloud" and "endpoint" say ${cloud}`),
      );
      expect(message).toContain(regionOf[cloud]);
    } else {
      expect(message).toMatch(
        new RegExp(`^region "${regionOf[cloud]}" belongs to ${cloud} \\(and so does "endpoint"\\)`),
      );
      expect(message).toContain(`set "cloud": "${cloud}"`);
    }
    // Following the message gives a configuration that starts.
    const fixed = { ...fields, cloud, region: regionOf[cloud], endpoint: endpointOf(cloud) };
    expect(load({ kind: 'speech', ...fixed }).resource.cloud).toBe(cloud);
  });

  it.each(CLOUD_NAMES.filter((c) => c !== 'AzureCloud'))(
    'without "cloud", a region and an endpoint of %s name the missing cloud',
    (cloud) => {
      expect(refusal({ kind: 'speech', region: regionOf[cloud], endpoint: endpointOf(cloud) })).toBe(
        `region "${regionOf[cloud]}" belongs to ${cloud} (and so does "endpoint"), not AzureCloud; set "cloud": "${cloud}" (keys from one cloud are rejected by the others' endpoints)`,
      );
    },
  );

  it.each(CLOUD_NAMES.filter((c) => c !== 'AzureCloud'))(
    'without "cloud", a %s region with a public endpoint names the region, not the cloud',
    (cloud) => {
      expect(refusal({ kind: 'speech', region: regionOf[cloud], endpoint: endpointOf('AzureCloud') })).toMatch(
        new RegExp(`^region "${regionOf[cloud]}" is in ${cloud}, but "endpoint" say AzureCloud`),
      );
    },
  );

  it('two fields that disagree with nothing to break the tie: both ways out, no loop', () => {
    const message = refusal({ kind: 'speech', cloud: 'AzureUSGovernment', region: 'westeurope' });
    expect(message).toMatch(/"cloud" is AzureUSGovernment, but region "westeurope" belongs to AzureCloud/);
    expect(message).toMatch(
      /for a resource in AzureUSGovernment, use its region \(one of usgovarizona, usgovvirginia\)/,
    );
    expect(message).toMatch(/for a resource in AzureCloud, set "cloud": "AzureCloud" \(or leave it out\)/);
  });

  it('a global Translator says no cloud, in any cloud', () => {
    for (const cloud of CLOUD_NAMES) {
      expect(load({ kind: 'translator', cloud, region: 'global' }).resource.cloud).toBe(cloud);
    }
  });

  it('a loopback endpoint says no cloud', () => {
    expect(
      load({ kind: 'speech', cloud: 'AzureChinaCloud', region: 'chinaeast2', endpoint: 'http://127.0.0.1:9' }).resource
        .endpoint,
    ).toBe('http://127.0.0.1:9');
  });
});
