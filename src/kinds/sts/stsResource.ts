import { z } from 'zod';
import { CLOUDS } from '../../clouds/clouds.js';
import { isLoopbackHost, parseOrigin } from '../../http/urls.js';
import { CLOUD_NAMES, type CloudName, type TokenResource } from '../../model.js';
import { checkSecretName, parseFields } from '../resourceFields.js';
import type { CommonResourceFields, ResourceChecks } from '../kind.js';
import { cloudOfRegion, nearestRegion, normalizeRegion, regionsFor } from './regions.js';

/** `speech` (Speech), `translator` (Translator), `cognitive` (multi-service Azure AI services). */
export const STS_KIND_NAMES = ['speech', 'translator', 'cognitive'] as const;
export type StsKindName = (typeof STS_KIND_NAMES)[number];

/** A resource whose key is exchanged at its STS for a 10-minute token. */
export interface StsResource extends TokenResource {
  readonly kind: StsKindName;
}

/** The fields an STS resource reads beyond the common ones. */
export const stsFieldsSchema = z.looseObject({
  region: z.string().optional(),
  endpoint: z.string().optional(),
  privateEndpoint: z.boolean().optional(),
  secretName: z.string().optional(),
});

/**
 * The STS kinds' fields and start-up checks: a region (or custom subdomain) that belongs to the
 * resource's cloud, a custom subdomain in that cloud's form, and the Key Vault secret holding the key.
 */
export function parseStsResource(
  common: CommonResourceFields & { readonly kind: StsKindName },
  raw: Readonly<Record<string, unknown>>,
  checks: ResourceChecks,
): StsResource | undefined {
  const failures: string[] = [];
  const fail = (message: string) => {
    failures.push(message);
    checks.fail(message);
  };
  const fields = parseFields(stsFieldsSchema, raw, fail);
  if (fields === undefined) return undefined;
  const { kind, cloud } = common;
  const regionInput = fields.region?.trim() || undefined;
  const endpointInput = fields.endpoint?.trim() || undefined;
  const privateEndpoint = fields.privateEndpoint ?? false;
  let region: string | null = null;
  let endpoint: string | null = null;
  if (regionInput === undefined && endpointInput === undefined) {
    fail(
      'needs "region" (e.g. "westeurope", as on the resource\'s Keys and Endpoint page), and "endpoint" too if it has a custom subdomain (https://<name>.cognitiveservices.azure.com)',
    );
  } else if (regionInput === undefined && !privateEndpoint) {
    // Without a private endpoint the Speech REST APIs live at the regional hosts, not the subdomain.
    fail(
      `"endpoint" needs "region" as well (the resource's region, from its Keys and Endpoint page): without a private endpoint the Speech REST APIs and the voices list are served at the regional hosts; if the resource is reached through a private endpoint, set "privateEndpoint": true`,
    );
  }
  if (privateEndpoint && endpointInput === undefined) {
    fail('"privateEndpoint": true needs "endpoint", the custom subdomain the private endpoint serves');
  }
  if (regionInput !== undefined) region = checkRegion(regionInput, kind, cloud, fail);
  if (endpointInput !== undefined) endpoint = checkEndpoint(endpointInput, cloud, fail);
  const secretName = checkSecretName(fields.secretName, fail);
  if (failures.length > 0 || secretName === undefined) return undefined;
  return { ...common, kind, region, endpoint, privateEndpoint, secretName };
}

function checkRegion(input: string, kind: StsKindName, cloud: CloudName, fail: (m: string) => void): string | null {
  const region = normalizeRegion(input);
  if (regionsFor(kind, cloud).includes(region)) return region;
  const homeCloud = cloudOfRegion(region, kind);
  if (homeCloud !== undefined) {
    fail(
      `region "${region}" belongs to ${homeCloud}, not ${cloud}; set "cloud": "${homeCloud}" (keys from one cloud are rejected by the others' endpoints)`,
    );
    return null;
  }
  const suggestion = nearestRegion(region, regionsFor(kind, cloud));
  const hint = suggestion
    ? `did you mean "${suggestion}"?`
    : `valid ${kind} regions in ${cloud}: ${regionsFor(kind, cloud).join(', ')}`;
  fail(`unknown region "${input}" for a ${kind} resource in ${cloud}; ${hint}`);
  return null;
}

function checkEndpoint(input: string, cloud: CloudName, fail: (m: string) => void): string | null {
  const checked = parseOrigin(input);
  if (!checked.ok) {
    fail(`"endpoint" ${checked.problem}`);
    return null;
  }
  const host = new URL(checked.origin).hostname;
  if (isLoopbackHost(host)) return checked.origin;
  const ownSuffix = CLOUDS[cloud].customSubdomainSuffix;
  if (host.endsWith(`.${ownSuffix}`) && host.split('.').length === ownSuffix.split('.').length + 1)
    return checked.origin;
  const otherCloud = CLOUD_NAMES.find((c) => c !== cloud && host.endsWith(`.${CLOUDS[c].customSubdomainSuffix}`));
  if (otherCloud !== undefined) {
    fail(`"endpoint" ${host} is a custom subdomain in ${otherCloud}, not ${cloud}; set "cloud": "${otherCloud}"`);
    return null;
  }
  const regional = CLOUD_NAMES.map((c) => ({ c, suffix: `.${CLOUDS[c].stsDomain}` })).find(({ suffix }) =>
    host.endsWith(suffix),
  );
  if (regional !== undefined) {
    const region = host.slice(0, -regional.suffix.length);
    fail(
      `"endpoint" ${host} is a regional endpoint, not a custom subdomain; use "region": "${region}"${regional.c === cloud ? '' : ` with "cloud": "${regional.c}"`} instead`,
    );
    return null;
  }
  fail(
    `"endpoint" must be the resource's custom subdomain, https://<name>.${ownSuffix} (shown on its Keys and Endpoint page), not ${host}`,
  );
  return null;
}
