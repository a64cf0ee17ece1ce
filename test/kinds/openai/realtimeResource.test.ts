/** The openai-realtime kind's start-up checks, through `loadConfig` as the app reads its settings. */
import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadConfig, type Environment } from '../../../src/config/settings.js';
import type { RealtimeResource } from '../../../src/kinds/openai/realtimeResource.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const assistant = {
  name: 'assistant',
  kind: 'openai-realtime',
  endpoint: 'https://contoso-aoai.openai.azure.com',
  region: 'eastus2',
  deployment: 'gpt-realtime',
  session: { instructions: 'You are the front desk of Contoso.', audio: { output: { voice: 'marin' } } },
  allowedRoles: ['Assistant.Talk'],
  callerLimitPerMinute: 6,
};

function env(resource: Record<string, unknown>): Environment {
  return {
    AUTH_TENANT_ID: TENANT,
    AUTH_AUDIENCES: 'api://token-vending',
    KEY_VAULT_URI: 'https://kv.vault.azure.net',
    TOKEN_RESOURCES: JSON.stringify([resource]),
  };
}

function read(changes: Record<string, unknown>): { resource: RealtimeResource; warnings: string[] } {
  const config = loadConfig(env({ ...assistant, ...changes }));
  return {
    resource: config.resources[0] as RealtimeResource,
    warnings: config.warnings.map((warning) => warning.message),
  };
}

function refusal(changes: Record<string, unknown>): string {
  try {
    loadConfig(env({ ...assistant, ...changes }));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).problems.map((p) => `${p.resource ?? ''}: ${p.message}`).join('\n');
  }
  throw new Error('expected a ConfigurationError');
}

describe('openai-realtime resources at start-up', () => {
  it("reads design.md's example: keyless, the operator's session kept whole", () => {
    const { resource, warnings } = read({});
    expect(resource).toEqual({
      name: 'assistant',
      kind: 'openai-realtime',
      cloud: 'AzureCloud',
      region: 'eastus2',
      endpoint: 'https://contoso-aoai.openai.azure.com',
      privateEndpoint: false,
      secretName: '',
      auth: 'identity',
      deployment: 'gpt-realtime',
      session: assistant.session,
      allowedRoles: ['Assistant.Talk'],
      allowedScopes: [],
      resourceId: null,
      callerLimitPerMinute: 6,
    });
    expect(warnings).toEqual([]);
  });

  it('is in key mode with secretName, and may then have a resourceId to rotate', () => {
    const resourceId =
      '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-aoai';
    expect(read({ secretName: 'aoai-key', resourceId }).resource).toMatchObject({
      auth: 'key',
      secretName: 'aoai-key',
      resourceId,
    });
  });

  it.each([
    ['https://contoso-aoai.openai.azure.com', 'AzureCloud'],
    ['https://contoso-aoai.services.ai.azure.com', 'AzureCloud'],
    ['https://Contoso-AOAI.cognitiveservices.azure.com/', 'AzureCloud'],
    ['https://contoso-aoai.openai.azure.us', 'AzureUSGovernment'],
    ['https://contoso-aoai.cognitiveservices.azure.us', 'AzureUSGovernment'],
    ['https://contoso-aoai.openai.azure.cn', 'AzureChinaCloud'],
    ['http://127.0.0.1:8443', 'AzureCloud'],
    ['https://localhost:8443', 'AzureCloud'],
  ])('accepts %s in %s', (endpoint, cloud) => {
    const { resource } = read({ endpoint, cloud, region: undefined });
    expect(resource.endpoint).toBe(new URL(endpoint).origin);
    expect(resource.region).toBeNull();
  });

  it.each([
    ['https://contoso-aoai.openai.azure.com/openai/v1', 'https://contoso-aoai.openai.azure.com'],
    ['https://contoso-aoai.openai.azure.com/openai/v1/', 'https://contoso-aoai.openai.azure.com'],
    ['https://contoso-aoai.openai.azure.com/openai/', 'https://contoso-aoai.openai.azure.com'],
    [
      'https://contoso-aoai.openai.azure.com/openai/v1/realtime/client_secrets',
      'https://contoso-aoai.openai.azure.com',
    ],
    [
      'https://contoso-aoai.openai.azure.com/openai/v1/realtime/calls?webrtcfilter=on',
      'https://contoso-aoai.openai.azure.com',
    ],
    ['https://contoso-ai.services.ai.azure.com/api/projects/front-desk', 'https://contoso-ai.services.ai.azure.com'],
  ])('normalises %s to its origin, with a warning', (endpoint, origin) => {
    const { resource, warnings } = read({ endpoint });
    expect(resource.endpoint).toBe(origin);
    expect(warnings).toEqual([
      `"endpoint" "${endpoint}" is read as "${origin}" (the service adds /openai/v1/realtime/… itself); give it so`,
    ]);
  });

  it.each([
    ['swedencentral', 'swedencentral', []],
    ['Sweden Central', 'swedencentral', []],
    [
      'westeurope',
      'westeurope',
      [
        '"region" "westeurope" is not one Azure documents GPT Realtime models in (eastus2, swedencentral); keys are minted anyway',
      ],
    ],
  ])('takes region %s as %s, warning only outside the documented ones', (region, read_, warnings) => {
    expect(read({ region })).toMatchObject({ resource: { region: read_ }, warnings });
  });

  it('warns of a region in a cloud without documented GPT Realtime regions', () => {
    expect(
      read({ cloud: 'AzureUSGovernment', endpoint: 'https://x.openai.azure.us', region: 'usgovvirginia' }).warnings,
    ).toEqual([
      '"region" "usgovvirginia": Azure documents no GPT Realtime region in AzureUSGovernment; keys are minted anyway',
    ]);
  });

  it.each([
    [
      'no endpoint',
      { endpoint: undefined },
      /"endpoint" is required: the resource's endpoint, https:\/\/<name>\.openai\.azure\.com/,
    ],
    [
      'an endpoint that is not a URL',
      { endpoint: 'contoso-aoai' },
      /"endpoint" "contoso-aoai" is not a URL; give it as https:\/\/<name>\.openai\.azure\.com/,
    ],
    [
      'plain http',
      { endpoint: 'http://contoso-aoai.openai.azure.com' },
      /must use https \(plain http is allowed only for loopback/,
    ],
    [
      'credentials in the URL',
      { endpoint: 'https://user:pw@contoso-aoai.openai.azure.com' },
      /must not carry credentials/,
    ],
    [
      'the preview WebRTC host',
      { endpoint: 'https://eastus2.realtimeapi-preview.ai.azure.com/v1/realtimertc' },
      /eastus2\.realtimeapi-preview\.ai\.azure\.com is the preview WebRTC host, deprecated since 30 April 2026; use the resource's own endpoint, https:\/\/<name>\.openai\.azure\.com/,
    ],
    [
      'the preview sessions path',
      { endpoint: 'https://contoso-aoai.openai.azure.com/openai/realtimeapi/sessions?api-version=2025-04-01-preview' },
      /is the preview surface .*; use "endpoint": "https:\/\/contoso-aoai\.openai\.azure\.com" — the service calls the GA v1 surface/,
    ],
    [
      'the preview WebSocket path',
      {
        endpoint:
          'https://contoso-aoai.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-4o-realtime-preview',
      },
      /is the preview surface/,
    ],
    [
      'a v1 URL with an api-version',
      { endpoint: 'https://contoso-aoai.openai.azure.com/openai/v1?api-version=preview' },
      /is the preview surface .*with no api-version/,
    ],
    [
      'a deployment path of the classic surface',
      { endpoint: 'https://contoso-aoai.openai.azure.com/openai/deployments/gpt-realtime/chat/completions' },
      /use "endpoint": "https:\/\/contoso-aoai\.openai\.azure\.com"/,
    ],
    [
      'another path',
      { endpoint: 'https://contoso-aoai.openai.azure.com/v1/realtime' },
      /"endpoint" must be the resource's endpoint without a path, "https:\/\/contoso-aoai\.openai\.azure\.com"; .* has the path \/v1\/realtime/,
    ],
    [
      'a US Government host under AzureCloud',
      { endpoint: 'https://contoso-aoai.openai.azure.us' },
      /contoso-aoai\.openai\.azure\.us is a resource in AzureUSGovernment, not AzureCloud; set "cloud": "AzureUSGovernment"/,
    ],
    [
      'a public host under AzureChinaCloud',
      { endpoint: 'https://contoso-aoai.openai.azure.com', cloud: 'AzureChinaCloud' },
      /is a resource in AzureCloud, not AzureChinaCloud; set "cloud": "AzureCloud"/,
    ],
    [
      'a regional endpoint',
      { endpoint: 'https://eastus2.api.cognitive.microsoft.com' },
      /eastus2\.api\.cognitive\.microsoft\.com is a regional endpoint; GPT Realtime is served at the resource's own host/,
    ],
    [
      'a host with two names before the suffix',
      { endpoint: 'https://eastus2.contoso.openai.azure.com' },
      /must be https:\/\/<name>\.openai\.azure\.com, one name before \.openai\.azure\.com/,
    ],
    [
      'a gateway in front of the resource',
      { endpoint: 'https://contoso.azure-api.net' },
      /"endpoint" must be the resource's own host in AzureCloud \(https:\/\/<name>\.openai\.azure\.com, https:\/\/<name>\.services\.ai\.azure\.com, https:\/\/<name>\.cognitiveservices\.azure\.com\), not contoso\.azure-api\.net/,
    ],
    [
      'no deployment',
      { deployment: undefined },
      /"deployment" is required: the name of the GPT Realtime model's deployment/,
    ],
    ['a blank deployment', { deployment: '  ' }, /"deployment" is required/],
    [
      'a deployment with a slash',
      { deployment: 'gpt/realtime' },
      /"deployment" "gpt\/realtime" is not a deployment name/,
    ],
    ['a deployment that is not a string', { deployment: 5 }, /"deployment": Invalid input: expected string/],
    ['a session that is an array', { session: [] }, /"session" must be an object .*not an array/],
    ['a session that is a string', { session: 'Be nice.' }, /"session" must be an object .*not string/],
    ['a session that is null', { session: null }, /"session" must be an object .*not null/],
    [
      'a session with a type',
      { session: { type: 'transcription' } },
      /"session\.type" is set by the service from the kind \("realtime"\); remove it from "session"/,
    ],
    [
      'a session with a model',
      { session: { model: 'gpt-realtime' } },
      /"session\.model" is set by the service from "deployment"; remove it from "session"/,
    ],
    [
      "the preview API's voice",
      { session: { voice: 'marin' } },
      /"session\.voice" is the preview API's field, which the GA v1 surface refuses; use "audio": \{ "output": \{ "voice": … \} \}/,
    ],
    ["the preview API's modalities", { session: { modalities: ['audio'] } }, /use "output_modalities"/],
    [
      "the preview API's turn_detection",
      { session: { turn_detection: { type: 'server_vad' } } },
      /use "audio": \{ "input": \{ "turn_detection": … \} \}/,
    ],
    [
      'a session over 16 KB',
      { session: { instructions: 'x'.repeat(16 * 1024) } },
      /"session" is 16403 bytes as JSON, over the 16384 allowed; shorten the instructions/,
    ],
    [
      'an invalid secret name',
      { secretName: 'aoai key' },
      /"secretName" "aoai key" is not a valid Key Vault secret name/,
    ],
    [
      'a resourceId without secretName',
      {
        resourceId:
          '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-aoai',
      },
      /"resourceId" is for key rotation, and this resource mints with the app's managed identity \(no "secretName"\)/,
    ],
    [
      'an STS field',
      { privateEndpoint: true },
      /unknown field "privateEndpoint"; the fields are name, kind, cloud, endpoint, region, deployment, session, secretName,/,
    ],
  ])('refuses %s', (_, changes, expected) => {
    expect(refusal(changes)).toMatch(expected);
  });

  it.each(['openai', 'OpenAI', 'AzureOpenAI'])('refuses kind "%s" with a pointer to openai-realtime', (kind) => {
    expect(refusal({ kind })).toMatch(/Azure OpenAI resource.*use "kind": "openai-realtime"/);
    expect(refusal({ kind })).toMatch(/GPT Realtime voice sessions/);
  });
});
