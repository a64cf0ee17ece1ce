import { z } from 'zod';
import { isLoopbackHost } from '../../http/urls.js';
import { CLOUD_NAMES, type CloudName, type TokenResource } from '../../model.js';
import type { CommonResourceFields, ResourceChecks } from '../kind.js';
import { checkSecretName, parseFields } from '../resourceFields.js';
import { REALTIME_CLOUDS, REALTIME_REGIONS } from './realtimeHosts.js';

/** The kind's name in `TOKEN_RESOURCES`. */
export const REALTIME_KIND_NAME = 'openai-realtime';

/** A GPT Realtime resource: one ephemeral key minted per request at its GA v1 surface. */
export interface RealtimeResource extends TokenResource {
  readonly kind: typeof REALTIME_KIND_NAME;
  /** The resource's origin, e.g. `https://contoso-aoai.openai.azure.com` (normalised: no path). */
  readonly endpoint: string;
  /** The deployment, sent as `session.model`; Azure compares it case-sensitively. */
  readonly deployment: string;
  /** The operator's session (instructions, voice, tools, …), without `type` and `model`. Never shown to callers. */
  readonly session: Readonly<Record<string, unknown>>;
  /**
   * `identity`: minted with the app's managed identity (the default; `secretName` is empty);
   * `key`: with the resource key from Key Vault secret `secretName`, sent as `api-key`.
   */
  readonly auth: 'identity' | 'key';
}

/** The fields a realtime resource reads beyond the common ones. */
export const realtimeFieldsSchema = z.looseObject({
  endpoint: z.string().optional(),
  region: z.string().optional(),
  deployment: z.string().optional(),
  session: z.unknown().optional(),
  secretName: z.string().optional(),
});

/** Azure deployment names: letters, digits, `-`, `_`, `.`, at most 64. */
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** What `session` may weigh, serialized: it travels in every mint, and TOKEN_RESOURCES is one app setting. */
export const MAX_SESSION_BYTES = 16 * 1024;

/**
 * Paths an operator may paste with the endpoint (the v1 base URL, an operation's URL, a Foundry
 * project's): all served at the resource's origin, so they are dropped with a warning.
 */
const NORMALISED_PATHS = [
  /^$/,
  /^\/openai$/,
  /^\/openai\/v1$/,
  /^\/openai\/v1\/realtime$/,
  /^\/openai\/v1\/realtime\/(client_secrets|calls)$/,
  /^\/api\/projects\/[^/]+$/,
];

/**
 * Preview session fields and where GA v1 has them; Azure's v1 surface refuses the old names with
 * 400 at every mint, so they are refused at start-up instead. Source: OpenAI's Realtime GA
 * migration notes, which Azure's v1 surface follows.
 */
const PREVIEW_SESSION_FIELDS: Readonly<Record<string, string>> = {
  voice: '"audio": { "output": { "voice": … } }',
  modalities: '"output_modalities"',
  input_audio_format: '"audio": { "input": { "format": … } }',
  output_audio_format: '"audio": { "output": { "format": … } }',
  turn_detection: '"audio": { "input": { "turn_detection": … } }',
  input_audio_transcription: '"audio": { "input": { "transcription": … } }',
  input_audio_noise_reduction: '"audio": { "input": { "noise_reduction": … } }',
  max_response_output_tokens: '"max_output_tokens"',
};

/**
 * The realtime kind's fields and start-up checks: the resource's own endpoint in its cloud (the
 * deprecated preview surface refused with the v1 form to use), the deployment, the operator's
 * session (an object without `type` or `model`, at most `MAX_SESSION_BYTES`), and for key mode a
 * Key Vault secret. A region without GPT Realtime models is a warning, not a refusal.
 */
export function parseRealtimeResource(
  common: CommonResourceFields,
  raw: Readonly<Record<string, unknown>>,
  checks: ResourceChecks,
): RealtimeResource | undefined {
  // An object: TypeScript does not see the closure set a plain `let`.
  const outcome = { failed: false };
  const fail = (message: string) => {
    outcome.failed = true;
    checks.fail(message);
  };
  const warn = (message: string) => {
    checks.warn(message);
  };
  const fields = parseFields(realtimeFieldsSchema, raw, fail);
  if (fields === undefined) return undefined;
  const { cloud } = common;

  const endpointInput = fields.endpoint?.trim() ?? '';
  if (!endpointInput)
    fail(
      '"endpoint" is required: the resource\'s endpoint, https://<name>.openai.azure.com (Keys and Endpoint page; .services.ai.azure.com and .cognitiveservices.azure.com work too)',
    );
  const endpoint = endpointInput ? checkEndpoint(endpointInput, cloud, fail, warn) : undefined;
  const deployment = checkDeployment(fields.deployment, fail);
  const session = checkSession(fields.session, fail);
  const region = checkRegion(fields.region, cloud, warn);

  const secretInput = fields.secretName?.trim() ?? '';
  const secretName = secretInput ? checkSecretName(secretInput, fail) : '';
  if (!secretInput && common.resourceId !== null) {
    fail(
      '"resourceId" is for key rotation, and this resource mints with the app\'s managed identity (no "secretName"): remove "resourceId", or add "secretName" to mint with the rotated key instead',
    );
  }
  if (outcome.failed || endpoint === undefined || deployment === undefined || session === undefined) return undefined;
  if (secretName === undefined) return undefined;
  return {
    ...common,
    kind: REALTIME_KIND_NAME,
    region,
    endpoint,
    privateEndpoint: false,
    secretName,
    deployment,
    session,
    auth: secretName ? 'key' : 'identity',
  };
}

/** The voice the operator's session names, if any (`audio.output.voice`). */
export function configuredVoice(resource: RealtimeResource): string | undefined {
  const audio = resource.session.audio;
  if (typeof audio !== 'object' || audio === null) return undefined;
  const output = (audio as { output?: unknown }).output;
  if (typeof output !== 'object' || output === null) return undefined;
  const voice = (output as { voice?: unknown }).voice;
  return typeof voice === 'string' ? voice : undefined;
}

function checkEndpoint(
  input: string,
  cloud: CloudName,
  fail: (m: string) => void,
  warn: (m: string) => void,
): string | undefined {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    fail(`"endpoint" "${input}" is not a URL; give it as https://<name>.openai.azure.com`);
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(host))) {
    fail(`"endpoint" "${input}" must use https (plain http is allowed only for loopback addresses)`);
    return undefined;
  }
  if (url.username || url.password) {
    fail(`"endpoint" "${url.host}" must not carry credentials`);
    return undefined;
  }
  const origin = url.origin;
  if (host.endsWith('.realtimeapi-preview.ai.azure.com')) {
    fail(
      `"endpoint" ${host} is the preview WebRTC host, deprecated since 30 April 2026; use the resource's own endpoint, https://<name>.openai.azure.com: the service mints at its GA v1 surface (/openai/v1/realtime/client_secrets) and callers connect to /openai/v1/realtime/calls`,
    );
    return undefined;
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (/^\/openai\/(realtimeapi|realtime(\/|$)|deployments\/)/i.test(path) || url.searchParams.has('api-version')) {
    fail(
      `"endpoint" ${origin}${url.pathname}${url.search} is the preview surface (paths like /openai/realtimeapi/sessions or /openai/realtime with an api-version), deprecated since 30 April 2026; use "endpoint": "${origin}" — the service calls the GA v1 surface, ${origin}/openai/v1/realtime/…, with no api-version`,
    );
    return undefined;
  }
  if (!NORMALISED_PATHS.some((pattern) => pattern.test(path))) {
    fail(
      `"endpoint" must be the resource's endpoint without a path, "${origin}"; "${input}" has the path ${url.pathname}`,
    );
    return undefined;
  }
  if (path !== '' || url.search || url.hash) {
    warn(`"endpoint" "${input}" is read as "${origin}" (the service adds /openai/v1/realtime/… itself); give it so`);
  }
  if (isLoopbackHost(host)) return origin;
  return checkHost(host, cloud, fail) ? origin : undefined;
}

/** A custom subdomain of the resource's own cloud, under one of the realtime host suffixes. */
function checkHost(host: string, cloud: CloudName, fail: (m: string) => void): boolean {
  const under = (suffix: string) => host.endsWith(`.${suffix}`);
  const own = REALTIME_CLOUDS[cloud].hostSuffixes.find(under);
  if (own !== undefined) {
    if (HOST_LABEL.test(host.slice(0, -own.length - 1))) return true;
    fail(`"endpoint" ${host} is not a resource's host: it must be https://<name>.${own}, one name before .${own}`);
    return false;
  }
  const otherCloud = CLOUD_NAMES.find((c) => c !== cloud && REALTIME_CLOUDS[c].hostSuffixes.some(under));
  if (otherCloud !== undefined) {
    fail(`"endpoint" ${host} is a resource in ${otherCloud}, not ${cloud}; set "cloud": "${otherCloud}"`);
    return false;
  }
  if (/^[a-z0-9]+\.api\.cognitive\.(microsoft\.com|azure\.cn|microsoft\.us)$/.test(host)) {
    fail(
      `"endpoint" ${host} is a regional endpoint; GPT Realtime is served at the resource's own host, https://<name>.openai.azure.com (its Keys and Endpoint page)`,
    );
    return false;
  }
  const forms = REALTIME_CLOUDS[cloud].hostSuffixes.map((suffix) => `https://<name>.${suffix}`).join(', ');
  fail(`"endpoint" must be the resource's own host in ${cloud} (${forms}), not ${host}`);
  return false;
}

function checkDeployment(input: string | undefined, fail: (m: string) => void): string | undefined {
  const deployment = input?.trim() ?? '';
  if (!deployment) {
    fail(
      '"deployment" is required: the name of the GPT Realtime model\'s deployment on the resource (e.g. "gpt-realtime"), sent as the session\'s model',
    );
    return undefined;
  }
  if (!DEPLOYMENT_NAME.test(deployment)) {
    fail(
      `"deployment" "${deployment}" is not a deployment name (letters, digits, "-", "_" and ".", at most 64 characters)`,
    );
    return undefined;
  }
  return deployment;
}

function checkSession(input: unknown, fail: (m: string) => void): Readonly<Record<string, unknown>> | undefined {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(
      `"session" must be an object (the session's instructions, audio, tools, …), not ${Array.isArray(input) ? 'an array' : input === null ? 'null' : typeof input}`,
    );
    return undefined;
  }
  const session = input as Readonly<Record<string, unknown>>;
  let ok = true;
  for (const [field, from] of [
    ['type', 'the kind ("realtime")'],
    ['model', '"deployment"'],
  ] as const) {
    if (field in session) {
      fail(`"session.${field}" is set by the service from ${from}; remove it from "session"`);
      ok = false;
    }
  }
  for (const [field, ga] of Object.entries(PREVIEW_SESSION_FIELDS)) {
    if (field in session) {
      fail(`"session.${field}" is the preview API's field, which the GA v1 surface refuses; use ${ga}`);
      ok = false;
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(session));
  if (bytes > MAX_SESSION_BYTES) {
    fail(`"session" is ${bytes} bytes as JSON, over the ${MAX_SESSION_BYTES} allowed; shorten the instructions`);
    ok = false;
  }
  return ok ? session : undefined;
}

function checkRegion(input: string | undefined, cloud: CloudName, warn: (m: string) => void): string | null {
  const region = input?.trim().toLowerCase().replace(/\s+/g, '') ?? '';
  if (!region) return null;
  const documented = REALTIME_REGIONS[cloud];
  if (!documented.includes(region)) {
    warn(
      documented.length === 0
        ? `"region" "${region}": Azure documents no GPT Realtime region in ${cloud}; keys are minted anyway`
        : `"region" "${region}" is not one Azure documents GPT Realtime models in (${documented.join(', ')}); keys are minted anyway`,
    );
  }
  return region;
}
