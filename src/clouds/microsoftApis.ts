import { CLOUDS, type Cloud } from './clouds.js';
import { CLOUD_NAMES } from '../model.js';

/**
 * Microsoft's own APIs as they appear in a token's `aud`: their App ID URIs (in every cloud) and
 * application IDs. A token for one of them was meant for that API, never for this one, and a
 * Microsoft Graph token cannot even be verified by anyone but Graph (its header carries a `nonce`
 * that Graph alone knows how to undo before the signature holds).
 */
export interface MicrosoftApi {
  /** The API's name, as a diagnosis says it. */
  readonly name: string;
  /** App ID URIs, lower case, without a trailing slash. */
  readonly uris: readonly string[];
  /** Application (client) IDs, lower case. */
  readonly appIds: readonly string[];
}

/** A host of every cloud, as an App ID URI: `https://vault.azure.net` and the sovereign ones. */
const inEveryCloud = (host: (cloud: Cloud) => string): string[] =>
  CLOUD_NAMES.map((name) => `https://${host(CLOUDS[name])}`);

/**
 * The Microsoft APIs whose tokens clients send here by mistake, most common first (Microsoft
 * Graph: MSAL single-page apps). URIs of the hosts that differ by cloud come from `CLOUDS`; the
 * others and the application IDs are Microsoft's first-party ones (Entra's "Verify first-party
 * Microsoft applications in sign-in reports" list).
 */
export const MICROSOFT_APIS: readonly MicrosoftApi[] = [
  {
    name: 'Microsoft Graph',
    uris: [
      'https://graph.microsoft.com',
      'https://canary.graph.microsoft.com',
      'https://microsoftgraph.chinacloudapi.cn',
      'https://graph.microsoft.us',
      'https://dod-graph.microsoft.us',
    ],
    appIds: ['00000003-0000-0000-c000-000000000000'],
  },
  {
    name: 'Azure AD Graph (retired)',
    uris: ['https://graph.windows.net', 'https://graph.chinacloudapi.cn'],
    appIds: ['00000002-0000-0000-c000-000000000000'],
  },
  {
    name: 'Azure Resource Manager',
    // The classic Service Management audience (`management.core.…`) is still accepted by ARM.
    uris: [
      ...CLOUD_NAMES.map((name) => CLOUDS[name].resourceManager),
      'https://management.core.windows.net',
      'https://management.core.chinacloudapi.cn',
      'https://management.core.usgovcloudapi.net',
    ],
    appIds: ['797f4846-ba00-4fd7-ba43-dac1f8f63013'],
  },
  {
    name: 'Azure Key Vault',
    uris: inEveryCloud((cloud) => cloud.keyVaultSuffix),
    appIds: ['cfa8b339-82a2-471a-a3c9-0fc0be7a4093'],
  },
  {
    name: 'Azure AI services',
    uris: inEveryCloud((cloud) => cloud.customSubdomainSuffix),
    appIds: [],
  },
  { name: 'Azure Storage', uris: ['https://storage.azure.com'], appIds: ['e406a681-f3d4-42a8-90b6-c2b029497af1'] },
  {
    name: 'Azure SQL Database',
    uris: ['https://database.windows.net'],
    appIds: ['022907d3-0f1b-48f7-badc-1ba6abab6d66'],
  },
  {
    name: 'Office 365 Exchange Online',
    uris: ['https://outlook.office.com', 'https://outlook.office365.com'],
    appIds: ['00000002-0000-0ff1-ce00-000000000000'],
  },
  { name: 'SharePoint Online', uris: [], appIds: ['00000003-0000-0ff1-ce00-000000000000'] },
  { name: 'Azure DevOps', uris: [], appIds: ['499b84ac-1321-427f-aa17-267ca6975798'] },
  {
    name: 'Power BI',
    uris: ['https://analysis.windows.net/powerbi/api'],
    appIds: ['00000009-0000-0000-c000-000000000000'],
  },
];

/**
 * The Microsoft API an audience (or a scope of it: `https://graph.microsoft.com/.default`,
 * `https://graph.microsoft.com/User.Read`, `00000003-0000-0000-c000-000000000000/.default`) names.
 */
export function microsoftApiOf(value: string): MicrosoftApi | undefined {
  const text = value.trim().toLowerCase().replace(/\/+$/, '');
  return MICROSOFT_APIS.find(
    (api) =>
      api.appIds.some((id) => text === id || text.startsWith(`${id}/`)) ||
      api.uris.some((uri) => text === uri || text.startsWith(`${uri}/`)),
  );
}
