import type { CloudName } from '../../model.js';
import type { StsKindName } from './stsResource.js';

/** Regions where the Speech service (and so the regional STS of a Speech resource) exists. */
export const SPEECH_REGIONS: Readonly<Record<CloudName, readonly string[]>> = {
  AzureCloud: [
    'southafricanorth',
    'eastasia',
    'southeastasia',
    'australiaeast',
    'centralindia',
    'japaneast',
    'japanwest',
    'koreacentral',
    'canadacentral',
    'canadaeast',
    'northeurope',
    'westeurope',
    'francecentral',
    'germanywestcentral',
    'italynorth',
    'norwayeast',
    'swedencentral',
    'switzerlandnorth',
    'switzerlandwest',
    'uksouth',
    'ukwest',
    'uaenorth',
    'brazilsouth',
    'qatarcentral',
    'centralus',
    'eastus',
    'eastus2',
    'northcentralus',
    'southcentralus',
    'westcentralus',
    'westus',
    'westus2',
    'westus3',
  ],
  AzureChinaCloud: ['chinaeast2', 'chinanorth2', 'chinanorth3'],
  AzureUSGovernment: ['usgovarizona', 'usgovvirginia'],
};

/**
 * Translator and multi-service resources exist in more regions than Speech; Translator also has
 * the non-regional `global` resource, whose STS is the un-prefixed host.
 */
const OTHER_PUBLIC_REGIONS = [
  'australiacentral',
  'australiasoutheast',
  'brazilsoutheast',
  'francesouth',
  'germanynorth',
  'israelcentral',
  'jioindiawest',
  'koreasouth',
  'mexicocentral',
  'newzealandnorth',
  'norwaywest',
  'polandcentral',
  'southafricawest',
  'southindia',
  'spaincentral',
  'uaecentral',
  'westindia',
  'indonesiacentral',
  'malaysiawest',
  'chilecentral',
] as const;

const OTHER_REGIONS: Readonly<Record<CloudName, readonly string[]>> = {
  AzureCloud: OTHER_PUBLIC_REGIONS,
  AzureChinaCloud: ['chinaeast', 'chinanorth', 'chinaeast3'],
  AzureUSGovernment: ['usgovtexas', 'usdodcentral', 'usdodeast'],
};

export const GLOBAL_REGION = 'global';

export function regionsFor(kind: StsKindName, cloud: CloudName): readonly string[] {
  if (kind === 'speech') return SPEECH_REGIONS[cloud];
  const regions = [...SPEECH_REGIONS[cloud], ...OTHER_REGIONS[cloud]];
  return kind === 'translator' ? [GLOBAL_REGION, ...regions] : regions;
}

/** `"Japan West"`, `"japan-west"` and `"JapanWest"` all mean `japanwest`. */
export function normalizeRegion(input: string): string {
  return input.toLowerCase().replace(/[\s_-]+/g, '');
}

/** The closest known region within a small edit distance, for "did you mean" messages. */
export function nearestRegion(input: string, candidates: readonly string[]): string | undefined {
  let best: { region: string; distance: number } | undefined;
  for (const region of candidates) {
    const distance = editDistance(input, region);
    if (!best || distance < best.distance) best = { region, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(input.length / 4)) ? best.region : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
