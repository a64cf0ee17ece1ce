import { CLOUDS } from './clouds.js';
import { GLOBAL_REGION } from './regions.js';
import type { ClientEndpoints, TokenResource } from '../model.js';

export const ISSUE_TOKEN_PATH = '/sts/v1.0/issueToken';

/** The origin whose `/sts/v1.0/issueToken` accepts this resource's key, and no other. */
export function resolveStsEndpoint(resource: TokenResource): string {
  if (resource.endpoint !== null) return resource.endpoint;
  const { stsDomain } = CLOUDS[resource.cloud];
  return resource.region === GLOBAL_REGION ? `https://${stsDomain}` : `https://${resource.region}.${stsDomain}`;
}

export function resolveIssueTokenUrl(resource: TokenResource): string {
  return resolveStsEndpoint(resource) + ISSUE_TOKEN_PATH;
}

/** Where the vended token is used, in the shapes the Speech SDK and the REST APIs take. */
export function resolveClientEndpoints(resource: TokenResource): ClientEndpoints {
  const cloud = CLOUDS[resource.cloud];
  switch (resource.kind) {
    case 'speech': {
      if (resource.endpoint !== null) return customSubdomainSpeechEndpoints(resource.endpoint);
      const stt = `${resource.region}.stt.${cloud.speechDomain}`;
      const tts = `${resource.region}.tts.${cloud.speechDomain}`;
      return {
        stt: `wss://${stt}`,
        tts: `wss://${tts}`,
        sttRest: `https://${stt}/speech/recognition/conversation/cognitiveservices/v1`,
        ttsRest: `https://${tts}/cognitiveservices/v1`,
        voicesList: `https://${tts}/cognitiveservices/voices/list`,
      };
    }
    case 'translator':
      return {
        text:
          resource.endpoint !== null ? `${resource.endpoint}/translator/text/v3.0` : `https://${cloud.translatorHost}`,
      };
    case 'cognitive':
      return { base: resolveStsEndpoint(resource) };
  }
}

/** A custom-subdomain Speech resource serves every API under its own host, one path per service. */
function customSubdomainSpeechEndpoints(origin: string): ClientEndpoints {
  const socketOrigin = origin.replace(/^http/, 'ws');
  return {
    base: origin,
    stt: `${socketOrigin}/stt/speech/recognition/conversation/cognitiveservices/v1`,
    tts: `${socketOrigin}/tts/cognitiveservices/websocket/v1`,
    sttRest: `${origin}/stt/speech/recognition/conversation/cognitiveservices/v1`,
    ttsRest: `${origin}/tts/cognitiveservices/v1`,
    voicesList: `${origin}/tts/cognitiveservices/voices/list`,
  };
}
