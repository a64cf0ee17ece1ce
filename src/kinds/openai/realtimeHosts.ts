import type { CloudName } from '../../model.js';

/**
 * Where an Azure OpenAI / Foundry resource answers, per cloud: its custom subdomain under any of
 * these suffixes (`{name}.openai.azure.com`, `{name}.services.ai.azure.com`,
 * `{name}.cognitiveservices.azure.com`), and the data-plane token audience. Source: "Use the GPT
 * Realtime API via WebRTC" (GA v1) and the Azure OpenAI sovereign-cloud pages (`.azure.us`,
 * `.azure.cn`).
 */
export interface RealtimeCloud {
  readonly hostSuffixes: readonly string[];
  /** Scope of the managed identity's token for the resource. */
  readonly scope: string;
}

/** Each cloud's resource host suffixes and token scope (sources above). */
export const REALTIME_CLOUDS: Readonly<Record<CloudName, RealtimeCloud>> = {
  AzureCloud: {
    hostSuffixes: ['openai.azure.com', 'services.ai.azure.com', 'cognitiveservices.azure.com'],
    scope: 'https://cognitiveservices.azure.com/.default',
  },
  AzureUSGovernment: {
    hostSuffixes: ['openai.azure.us', 'services.ai.azure.us', 'cognitiveservices.azure.us'],
    scope: 'https://cognitiveservices.azure.us/.default',
  },
  AzureChinaCloud: {
    hostSuffixes: ['openai.azure.cn', 'services.ai.azure.cn', 'cognitiveservices.azure.cn'],
    scope: 'https://cognitiveservices.azure.cn/.default',
  },
};

/** The regions with GPT Realtime models (global deployments), per the GA article. Others only warn. */
export const REALTIME_REGIONS: Readonly<Record<CloudName, readonly string[]>> = {
  AzureCloud: ['eastus2', 'swedencentral'],
  AzureUSGovernment: [],
  AzureChinaCloud: [],
};

/** `POST {endpoint}{MINT_PATH}` mints an ephemeral key; no `api-version` on the v1 surface. */
export const MINT_PATH = '/openai/v1/realtime/client_secrets';
/** `POST {endpoint}{CALLS_PATH}` takes the browser's SDP offer; `webrtcfilter=on` keeps the prompt off the data channel. */
export const CALLS_PATH = '/openai/v1/realtime/calls?webrtcfilter=on';

/** The mint URL of a resource's origin. */
export function mintUrl(endpoint: string): string {
  return `${endpoint}${MINT_PATH}`;
}

/** The WebRTC URL a caller posts its SDP offer to. */
export function callsUrl(endpoint: string): string {
  return `${endpoint}${CALLS_PATH}`;
}
