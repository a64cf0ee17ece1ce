import type { CredentialKind } from '../kind.js';
import { classifyMintAnswer } from './realtimeAnswer.js';
import { callsUrl } from './realtimeHosts.js';
import { RealtimeMinter } from './realtimeMint.js';
import { probeRealtimeResource, realtimeAcceptsKey } from './realtimeProbe.js';
import {
  parseRealtimeResource,
  REALTIME_KIND_NAME,
  realtimeFieldsSchema,
  type RealtimeResource,
} from './realtimeResource.js';

/**
 * GPT Realtime on Azure OpenAI / Foundry, over WebRTC: per request, a one-minute ephemeral key
 * minted at the resource's GA v1 surface with the operator's session, never shared between
 * callers; the caller posts its SDP offer with it to `endpoints.webrtc`. The answer names the
 * session's model and voice, never its instructions or tools. Source: "Use the GPT Realtime API via
 * WebRTC" (Azure OpenAI, GA v1). Azure's `OpenAI` kind is refused with a pointer here: only
 * realtime keys are vended.
 */
export const realtimeKind: CredentialKind<RealtimeResource> = {
  names: [REALTIME_KIND_NAME],
  aliases: {},
  // "OpenAI" itself is refused by the STS kinds, with the same pointer.
  refusedNames: {
    azureopenai: `"kind": "AzureOpenAI" is an Azure OpenAI resource: use "kind": "${REALTIME_KIND_NAME}" for GPT Realtime voice sessions (one-minute keys for WebRTC); other Azure OpenAI calls are not vended`,
    realtime: `"kind": "realtime" is not a kind: use "kind": "${REALTIME_KIND_NAME}" for GPT Realtime voice sessions`,
    'openai-realtime-preview': `"kind": "openai-realtime-preview" is the deprecated preview surface: use "kind": "${REALTIME_KIND_NAME}", which uses the GA v1 surface`,
  },
  fields: Object.keys(realtimeFieldsSchema.shape),
  sharedBetweenCallers: false,
  upstream: 'openai',
  parseResource: parseRealtimeResource,
  clientView: (resource) => ({
    region: resource.region,
    endpoints: { webrtc: callsUrl(resource.endpoint) },
    headers: {},
  }),
  classifyAnswer: classifyMintAnswer,
  bind(steps) {
    const minter = new RealtimeMinter(steps);
    return {
      // Another failover member can serve: one attempt, so the caller does not wait out a retry here.
      mint: (resource, correlation, options) =>
        minter.mint(resource, correlation, options?.oneAttempt === true ? { maxAttempts: 1 } : {}),
      probe: (resource, options) => probeRealtimeResource(resource, { steps, minter }, options),
      state: (resource) => minter.ledger.state(resource.name),
      checkKey: (resource, key) => realtimeAcceptsKey(minter, resource, key),
    };
  },
};
