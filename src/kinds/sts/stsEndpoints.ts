import type { ClientEndpoints, EndpointHeaders } from '../../model.js';
import type { ClientView } from '../kind.js';
import { CLOUDS, type Cloud } from '../../clouds/clouds.js';
import { GLOBAL_REGION } from './regions.js';
import type { StsResource } from './stsResource.js';

/**
 * Where callers use an STS kind's token: its services' endpoints and headers, and its region,
 * which is null for a custom-subdomain resource (the Speech SDK connects through the subdomain).
 */
export function stsClientView(resource: StsResource): ClientView {
  return {
    region: resource.endpoint === null ? resource.region : null,
    endpoints: resolveClientEndpoints(resource),
    headers: resolveEndpointHeaders(resource),
  };
}

export const ISSUE_TOKEN_PATH = '/sts/v1.0/issueToken';

/**
 * The TTS avatar's ICE relay (real-time avatar synthesis): `GET` with the vended token as bearer
 * answers `{ Urls, Username, Password }`, the TURN server the browser's WebRTC connection to the
 * avatar goes through. At the regional `tts` host, or under `/tts` on a custom subdomain reached
 * through a private endpoint, like the other Speech REST paths (Azure-Samples'
 * cognitive-services-speech-sdk avatar samples).
 */
const AVATAR_RELAY_PATH = '/cognitiveservices/avatar/relay/token/v1';

/** The origin whose `/sts/v1.0/issueToken` accepts this resource's key, and no other. */
export function resolveStsEndpoint(resource: StsResource): string {
  if (resource.endpoint !== null) return resource.endpoint;
  const { stsDomain } = CLOUDS[resource.cloud];
  return resource.region === GLOBAL_REGION ? `https://${stsDomain}` : `https://${resource.region}.${stsDomain}`;
}

export function resolveIssueTokenUrl(resource: StsResource): string {
  return resolveStsEndpoint(resource) + ISSUE_TOKEN_PATH;
}

/**
 * Where the vended token is used, in the shapes the Speech SDK and the REST APIs take: every
 * service the key serves and that takes the token. A multi-service (`cognitive`) key serves Speech
 * and Translator as well as its base, so it gets both sets, except Translator's behind a private
 * endpoint. (A `translator` resource behind one is refused at start-up.)
 */
export function resolveClientEndpoints(resource: StsResource): ClientEndpoints {
  switch (resource.kind) {
    case 'speech':
      return speechEndpoints(resource);
    case 'translator':
      return { text: translatorTextEndpoint(resource) };
    case 'cognitive':
      return {
        base: resolveStsEndpoint(resource),
        ...speechEndpoints(resource),
        // Translator takes no access token from a resource behind a private endpoint (Translator
        // v3 reference, "Virtual Network support"), so such an answer offers no `text`.
        ...(resource.privateEndpoint ? {} : { text: translatorTextEndpoint(resource) }),
      };
  }
}

/**
 * Headers a service needs beside the token. Translator takes `Ocp-Apim-Subscription-Region` with
 * requests for a regional or multi-service resource at its global host (Translator authentication
 * reference, "Headers": the resource's region, optional only for a global Translator resource). A
 * custom subdomain already names the resource, so it needs no region.
 */
export function resolveEndpointHeaders(resource: StsResource): EndpointHeaders {
  const translatesAtGlobalHost = resource.kind !== 'speech' && resource.endpoint === null;
  if (!translatesAtGlobalHost || resource.region === null || resource.region === GLOBAL_REGION) return {};
  return { text: { 'Ocp-Apim-Subscription-Region': resource.region } };
}

/**
 * The Speech SDK connects to a custom subdomain with or without a private endpoint, one WebSocket
 * path per service. The short-audio speech-to-text REST API, the text-to-speech REST API, the
 * voices list and the avatar's ICE relay are served under the subdomain only through a private
 * endpoint; otherwise at the regional hosts (Speech private-link article, "Use the custom domain name without private
 * endpoints").
 */
function speechEndpoints(resource: StsResource): ClientEndpoints {
  const cloud = CLOUDS[resource.cloud];
  const sockets =
    resource.endpoint === null ? regionalSpeechSockets(resource, cloud) : subdomainSpeechSockets(resource.endpoint);
  const rest =
    resource.endpoint !== null && (resource.privateEndpoint || resource.region === null)
      ? subdomainSpeechRest(resource.endpoint)
      : regionalSpeechRest(resource, cloud);
  return { ...(resource.endpoint === null ? {} : { base: resource.endpoint }), ...sockets, ...rest };
}

function regionalSpeechSockets({ region }: StsResource, cloud: Cloud): ClientEndpoints {
  return { stt: `wss://${region}.stt.${cloud.speechDomain}`, tts: `wss://${region}.tts.${cloud.speechDomain}` };
}

function subdomainSpeechSockets(origin: string): ClientEndpoints {
  const socketOrigin = origin.replace(/^http/, 'ws');
  return {
    stt: `${socketOrigin}/stt/speech/recognition/conversation/cognitiveservices/v1`,
    tts: `${socketOrigin}/tts/cognitiveservices/websocket/v1`,
  };
}

function regionalSpeechRest({ region }: StsResource, cloud: Cloud): ClientEndpoints {
  const stt = `${region}.stt.${cloud.speechDomain}`;
  const tts = `${region}.tts.${cloud.speechDomain}`;
  return {
    sttRest: `https://${stt}/speech/recognition/conversation/cognitiveservices/v1`,
    ttsRest: `https://${tts}/cognitiveservices/v1`,
    voicesList: `https://${tts}/cognitiveservices/voices/list`,
    avatarRelay: `https://${tts}${AVATAR_RELAY_PATH}`,
  };
}

function subdomainSpeechRest(origin: string): ClientEndpoints {
  return {
    sttRest: `${origin}/stt/speech/recognition/conversation/cognitiveservices/v1`,
    ttsRest: `${origin}/tts/cognitiveservices/v1`,
    voicesList: `${origin}/tts/cognitiveservices/voices/list`,
    avatarRelay: `${origin}/tts${AVATAR_RELAY_PATH}`,
  };
}

function translatorTextEndpoint(resource: StsResource): string {
  return resource.endpoint !== null
    ? `${resource.endpoint}/translator/text/v3.0`
    : `https://${CLOUDS[resource.cloud].translatorHost}`;
}
