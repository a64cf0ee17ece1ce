import { CLOUDS, foundrySuffixes } from '../../clouds/clouds.js';
import { CLOUD_NAMES, type CloudName } from '../../model.js';

/**
 * What an `endpoint` host is, as Azure names its hosts: a resource's custom subdomain, the same
 * resource under its Foundry or Azure OpenAI name, a regional host shared by every resource of a
 * region, Translator's shared host, or something else.
 */
export type EndpointHost =
  | { readonly form: 'subdomain'; readonly cloud: CloudName; readonly name: string }
  /** `{name}.services.ai.azure.com` / `{name}.openai.azure.com` (`.us`, `.cn`): the resource's other names. */
  | { readonly form: 'foundry'; readonly cloud: CloudName; readonly name: string }
  /** `{region}.api.cognitive.microsoft.com`, `{region}.stt|tts.speech.microsoft.com` (and the sovereign forms). */
  | { readonly form: 'regional'; readonly cloud: CloudName; readonly region: string }
  | { readonly form: 'translator'; readonly cloud: CloudName }
  | { readonly form: 'other' };

/** A DNS label, as Azure accepts custom subdomain names. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

function labelBefore(host: string, suffix: string): string | undefined {
  if (!host.endsWith(`.${suffix}`)) return undefined;
  const label = host.slice(0, -suffix.length - 1);
  return LABEL.test(label) ? label : undefined;
}

/** Which Azure host `hostname` (lower case) is, and in which cloud. */
export function classifyEndpointHost(hostname: string): EndpointHost {
  const host = hostname.toLowerCase();
  for (const cloud of CLOUD_NAMES) {
    const { customSubdomainSuffix, stsDomain, speechDomain, translatorHost } = CLOUDS[cloud];
    const name = labelBefore(host, customSubdomainSuffix);
    if (name !== undefined) return { form: 'subdomain', cloud, name };
    for (const suffix of foundrySuffixes(cloud)) {
      const foundry = labelBefore(host, suffix);
      if (foundry !== undefined) return { form: 'foundry', cloud, name: foundry };
    }
    const region =
      labelBefore(host, stsDomain) ??
      labelBefore(host, `stt.${speechDomain}`) ??
      labelBefore(host, `tts.${speechDomain}`);
    if (region !== undefined) return { form: 'regional', cloud, region };
    // The un-prefixed STS host serves the global (non-regional) Translator resources.
    if (host === stsDomain) return { form: 'regional', cloud, region: 'global' };
    if (host === translatorHost || labelBefore(host, translatorHost.replace(/^api\./, '')) !== undefined)
      return { form: 'translator', cloud };
  }
  return { form: 'other' };
}

/** The custom subdomain origin of the resource called `name` in `cloud`. */
export function customSubdomainOrigin(name: string, cloud: CloudName): string {
  return `https://${name}.${CLOUDS[cloud].customSubdomainSuffix}`;
}
