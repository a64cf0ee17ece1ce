import { CLOUD_NAMES, type CloudName } from '../model.js';

/** Host names that differ by sovereign cloud; one row per cloud so nothing is hard-coded elsewhere. */
export interface Cloud {
  readonly name: CloudName;
  /** `{region}.{stsDomain}` serves `/sts/v1.0/issueToken`. */
  readonly stsDomain: string;
  /** Suffix of custom-subdomain resources: `{name}.{customSubdomainSuffix}`. */
  readonly customSubdomainSuffix: string;
  /** `{region}.stt.{speechDomain}` and `{region}.tts.{speechDomain}`. */
  readonly speechDomain: string;
  readonly translatorHost: string;
  readonly authorityHost: string;
  /** Vaults are `{name}.{keyVaultSuffix}`; their token audience is `https://{keyVaultSuffix}`. */
  readonly keyVaultSuffix: string;
  /** v1.0 access tokens carry `iss: https://{host}/{tid}/`; some clouds use more than one host. */
  readonly v1IssuerHosts: readonly string[];
  /** Azure Resource Manager (key listing and regeneration); its token audience is the same origin. */
  readonly resourceManager: string;
  /** Storage accounts' blob service is `https://{account}.blob.{storageSuffix}` (the rotation lease). */
  readonly storageSuffix: string;
}

export const CLOUDS: Readonly<Record<CloudName, Cloud>> = {
  AzureCloud: {
    name: 'AzureCloud',
    stsDomain: 'api.cognitive.microsoft.com',
    customSubdomainSuffix: 'cognitiveservices.azure.com',
    speechDomain: 'speech.microsoft.com',
    translatorHost: 'api.cognitive.microsofttranslator.com',
    authorityHost: 'https://login.microsoftonline.com',
    keyVaultSuffix: 'vault.azure.net',
    v1IssuerHosts: ['sts.windows.net'],
    resourceManager: 'https://management.azure.com',
    storageSuffix: 'core.windows.net',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    stsDomain: 'api.cognitive.azure.cn',
    customSubdomainSuffix: 'cognitiveservices.azure.cn',
    speechDomain: 'speech.azure.cn',
    translatorHost: 'api.translator.azure.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    keyVaultSuffix: 'vault.azure.cn',
    v1IssuerHosts: ['sts.chinacloudapi.cn'],
    resourceManager: 'https://management.chinacloudapi.cn',
    storageSuffix: 'core.chinacloudapi.cn',
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    stsDomain: 'api.cognitive.microsoft.us',
    customSubdomainSuffix: 'cognitiveservices.azure.us',
    speechDomain: 'speech.azure.us',
    translatorHost: 'api.cognitive.microsofttranslator.us',
    authorityHost: 'https://login.microsoftonline.us',
    keyVaultSuffix: 'vault.usgovcloudapi.net',
    v1IssuerHosts: ['sts.windows.net', 'login.microsoftonline.us'],
    resourceManager: 'https://management.usgovcloudapi.net',
    storageSuffix: 'core.usgovcloudapi.net',
  },
};

/** `azure.com`, `azure.cn`, `azure.us`: the domain a cloud's resource hosts live under. */
function resourceDomain(cloud: CloudName): string {
  return CLOUDS[cloud].customSubdomainSuffix.replace(/^cognitiveservices\./, '');
}

/**
 * The Foundry and Azure OpenAI names of a resource in each cloud: the portal shows
 * `https://{name}.services.ai.azure.com` (Foundry) and `https://{name}.openai.azure.com` for the same
 * account whose custom subdomain is `{name}.{customSubdomainSuffix}` (`.azure.us`, `.azure.cn` in
 * the sovereign clouds).
 */
export function foundrySuffixes(cloud: CloudName): readonly string[] {
  const domain = resourceDomain(cloud);
  return [`services.ai.${domain}`, `openai.${domain}`];
}

/**
 * Every Entra authority host of each cloud: its default (`authorityHost` above), then the aliases
 * Microsoft's libraries and docs use for the same authority (MSAL's instance metadata; the Azure
 * China MSAL docs use `login.partner.microsoftonline.cn`). A host names its cloud, and so the v1.0
 * issuers accepted.
 */
export const AUTHORITY_HOST_ALIASES: Readonly<Record<CloudName, readonly string[]>> = {
  AzureCloud: ['https://login.microsoft.com', 'https://login.windows.net', 'https://sts.windows.net'],
  AzureChinaCloud: ['https://login.partner.microsoftonline.cn'],
  AzureUSGovernment: ['https://login.usgovcloudapi.net'],
};

/** Every authority host of `cloud`, as origins: its default first, then its aliases. */
export function authorityHostsOf(cloud: CloudName): readonly string[] {
  return [CLOUDS[cloud].authorityHost, ...AUTHORITY_HOST_ALIASES[cloud]];
}

/** The cloud whose well-known authority host (or one of its aliases) this is, if any. */
export function cloudOfAuthorityHost(authorityHost: string): CloudName | undefined {
  const origin = new URL(authorityHost).origin;
  return CLOUD_NAMES.find((name) => authorityHostsOf(name).includes(origin));
}

/**
 * The scope of a token for this vault, as its authentication challenge will name it
 * (`resource="https://vault.azure.net"` and the sovereign equivalents). A vault outside the known
 * clouds (the dev stack's loopback fake) challenges like the public cloud.
 */
export function keyVaultScope(vaultUri: string): string {
  const host = new URL(vaultUri).hostname;
  const cloud = CLOUD_NAMES.find((name) => host.endsWith(`.${CLOUDS[name].keyVaultSuffix}`)) ?? 'AzureCloud';
  return `https://${CLOUDS[cloud].keyVaultSuffix}/.default`;
}

/**
 * The scope of a token for Azure Resource Manager in this cloud (`https://management.azure.com/.default`
 * and the sovereign equivalents). It follows the cloud even when `ARM_ENDPOINT` points elsewhere.
 */
export function resourceManagerScope(cloud: CloudName): string {
  return `${CLOUDS[cloud].resourceManager}/.default`;
}
