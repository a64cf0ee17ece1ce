import { describe, expect, it } from 'vitest';
import {
  resolveClientEndpoints,
  resolveEndpointHeaders,
  resolveIssueTokenUrl,
  resolveStsEndpoint,
} from '../../../src/kinds/sts/stsEndpoints.js';
import type { StsResource } from '../../../src/kinds/sts/stsResource.js';

function resource(overrides: Partial<StsResource>): StsResource {
  return {
    name: 'r',
    kind: 'speech',
    cloud: 'AzureCloud',
    region: 'westeurope',
    endpoint: null,
    privateEndpoint: false,
    secretName: 'k',
    allowedRoles: ['R'],
    allowedScopes: [],
    resourceId: null,
    ...overrides,
  };
}

describe('resolveStsEndpoint', () => {
  it.each([
    ['AzureCloud', 'japanwest', 'https://japanwest.api.cognitive.microsoft.com'],
    ['AzureChinaCloud', 'chinaeast2', 'https://chinaeast2.api.cognitive.azure.cn'],
    ['AzureUSGovernment', 'usgovvirginia', 'https://usgovvirginia.api.cognitive.microsoft.us'],
  ] as const)('%s %s → %s', (cloud, region, expected) => {
    expect(resolveStsEndpoint(resource({ cloud, region }))).toBe(expected);
    expect(resolveIssueTokenUrl(resource({ cloud, region }))).toBe(`${expected}/sts/v1.0/issueToken`);
  });

  it('sends a custom-subdomain resource to its own host', () => {
    const custom = resource({ region: null, endpoint: 'https://contoso.cognitiveservices.azure.com' });
    expect(resolveIssueTokenUrl(custom)).toBe('https://contoso.cognitiveservices.azure.com/sts/v1.0/issueToken');
  });

  it('sends a global Translator resource to the un-prefixed host', () => {
    expect(resolveStsEndpoint(resource({ kind: 'translator', region: 'global' }))).toBe(
      'https://api.cognitive.microsoft.com',
    );
  });
});

describe('resolveClientEndpoints', () => {
  it.each([
    ['AzureCloud', 'westeurope', 'westeurope.stt.speech.microsoft.com', 'westeurope.tts.speech.microsoft.com'],
    ['AzureChinaCloud', 'chinanorth3', 'chinanorth3.stt.speech.azure.cn', 'chinanorth3.tts.speech.azure.cn'],
    ['AzureUSGovernment', 'usgovarizona', 'usgovarizona.stt.speech.azure.us', 'usgovarizona.tts.speech.azure.us'],
  ] as const)('speech in %s %s', (cloud, region, stt, tts) => {
    expect(resolveClientEndpoints(resource({ cloud, region }))).toEqual({
      stt: `wss://${stt}`,
      tts: `wss://${tts}`,
      sttRest: `https://${stt}/speech/recognition/conversation/cognitiveservices/v1`,
      ttsRest: `https://${tts}/cognitiveservices/v1`,
      voicesList: `https://${tts}/cognitiveservices/voices/list`,
      avatarRelay: `https://${tts}/cognitiveservices/avatar/relay/token/v1`,
    });
  });

  it('speech on a custom subdomain keeps every service under that host', () => {
    const endpoints = resolveClientEndpoints(
      resource({ region: null, endpoint: 'https://contoso.cognitiveservices.azure.com' }),
    );
    expect(endpoints.base).toBe('https://contoso.cognitiveservices.azure.com');
    expect(endpoints.stt).toBe(
      'wss://contoso.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
    );
    expect(endpoints.ttsRest).toBe('https://contoso.cognitiveservices.azure.com/tts/cognitiveservices/v1');
  });

  it('speech on a loopback endpoint uses ws://', () => {
    expect(resolveClientEndpoints(resource({ region: null, endpoint: 'http://127.0.0.1:9' })).stt).toMatch(
      /^ws:\/\/127\.0\.0\.1:9\//,
    );
  });

  it.each([
    ['AzureCloud', 'https://api.cognitive.microsofttranslator.com'],
    ['AzureChinaCloud', 'https://api.translator.azure.cn'],
    ['AzureUSGovernment', 'https://api.cognitive.microsofttranslator.us'],
  ] as const)('translator in %s', (cloud, text) => {
    const region = { AzureCloud: 'westeurope', AzureChinaCloud: 'chinaeast2', AzureUSGovernment: 'usgovvirginia' }[
      cloud
    ];
    expect(resolveClientEndpoints(resource({ kind: 'translator', cloud, region }))).toEqual({ text });
  });

  it('translator on a custom subdomain', () => {
    expect(
      resolveClientEndpoints(
        resource({ kind: 'translator', region: null, endpoint: 'https://t.cognitiveservices.azure.com' }),
      ),
    ).toEqual({ text: 'https://t.cognitiveservices.azure.com/translator/text/v3.0' });
  });

  it('a multi-service resource gets every service its key serves: base, Speech and Translator', () => {
    expect(resolveClientEndpoints(resource({ kind: 'cognitive', region: 'eastus' }))).toEqual({
      base: 'https://eastus.api.cognitive.microsoft.com',
      stt: 'wss://eastus.stt.speech.microsoft.com',
      tts: 'wss://eastus.tts.speech.microsoft.com',
      sttRest: 'https://eastus.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1',
      ttsRest: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/v1',
      voicesList: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/voices/list',
      avatarRelay: 'https://eastus.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1',
      text: 'https://api.cognitive.microsofttranslator.com',
    });
    expect(
      resolveClientEndpoints(resource({ kind: 'cognitive', cloud: 'AzureChinaCloud', region: 'chinaeast2' })).text,
    ).toBe('https://api.translator.azure.cn');
  });

  it('a multi-service resource on a custom subdomain translates there', () => {
    const endpoints = resolveClientEndpoints(
      resource({ kind: 'cognitive', region: 'eastus', endpoint: 'https://contoso-ai.cognitiveservices.azure.com' }),
    );
    expect(endpoints.base).toBe('https://contoso-ai.cognitiveservices.azure.com');
    expect(endpoints.text).toBe('https://contoso-ai.cognitiveservices.azure.com/translator/text/v3.0');
    expect(endpoints.voicesList).toBe('https://eastus.tts.speech.microsoft.com/cognitiveservices/voices/list');
  });
});

describe('resolveEndpointHeaders', () => {
  it.each([
    [
      'a multi-service resource at the global Translator host',
      { kind: 'cognitive', region: 'eastus' },
      { text: { 'Ocp-Apim-Subscription-Region': 'eastus' } },
    ],
    [
      'a regional Translator resource',
      { kind: 'translator', region: 'westeurope' },
      { text: { 'Ocp-Apim-Subscription-Region': 'westeurope' } },
    ],
    ['a global Translator resource', { kind: 'translator', region: 'global' }, {}],
    ['Speech', { kind: 'speech', region: 'westeurope' }, {}],
    [
      'a custom subdomain, which names the resource itself',
      { kind: 'cognitive', region: 'eastus', endpoint: 'https://c.cognitiveservices.azure.com' },
      {},
    ],
  ] as const)('%s', (_, overrides, expected) => {
    expect(resolveEndpointHeaders(resource(overrides))).toEqual(expected);
  });
});
