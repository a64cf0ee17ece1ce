import { z } from 'zod';
import { CLOUDS } from '../../clouds/clouds.js';
import { isLoopbackHost, parseOrigin, parseServiceUrl } from '../../http/urls.js';
import { CLOUD_NAMES, type CloudName, type TokenResource } from '../../model.js';
import { checkSecretName, parseFields } from '../resourceFields.js';
import type { CommonResourceFields, ResourceChecks } from '../kind.js';
import { classifyEndpointHost, customSubdomainOrigin } from './endpointHost.js';
import { nearestRegion, normalizeRegion, regionsFor } from './regions.js';

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

/** An `endpoint` as read: its origin, the cloud its host belongs to (none for loopback), the resource's name. */
interface EndpointReading {
  readonly origin: string;
  readonly cloud: CloudName | undefined;
  readonly name: string | undefined;
  /** Why the origin differs from what was given (a Foundry host, a path), for a start-up warning. */
  readonly note?: string;
}

/** A `region` as read: normalised, and the clouds in which a resource of the kind has it. */
interface RegionReading {
  readonly input: string;
  readonly region: string;
  readonly clouds: readonly CloudName[];
}

/**
 * The STS kinds' fields and start-up checks: a region (or custom subdomain) that belongs to the
 * resource's cloud, a custom subdomain in that cloud's form (a Foundry or Azure OpenAI host of
 * the same resource is taken to its custom subdomain, with a warning), and the Key Vault secret
 * holding the key. When `cloud`, `region` and the endpoint's host disagree, the field that is the
 * odd one out is named.
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
  const { kind } = common;
  const regionInput = fields.region?.trim() || undefined;
  const endpointInput = fields.endpoint?.trim() || undefined;
  const privateEndpoint = fields.privateEndpoint ?? false;
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
  if (privateEndpoint && kind === 'translator') {
    // Translator v3 reference, "Virtual Network support": with selected networks or a private
    // endpoint, the resource's own subdomain takes the key only, never an access token.
    fail(
      '"privateEndpoint": true: Translator takes no access tokens from a resource reached through a private endpoint or restricted to selected networks (Translator v3 reference, "Virtual Network support"); there a caller would need the key, which this service never hands out. If the resource allows all networks, remove "privateEndpoint"; otherwise take the resource out of TOKEN_RESOURCES',
    );
  }
  const region = regionInput === undefined ? undefined : readRegion(regionInput, kind);
  const endpoint = endpointInput === undefined ? undefined : readEndpoint(endpointInput, kind, fail);
  const cloudGiven = typeof raw.cloud === 'string' && raw.cloud.trim() !== '';
  const cloud = settleCloud({ kind, cloud: common.cloud, cloudGiven, region, endpoint }, fail);
  if (cloud !== undefined && region !== undefined && !region.clouds.includes(cloud)) {
    fail(unknownRegion(region, kind, cloud));
  }
  const secretName = checkSecretName(fields.secretName, fail);
  if (failures.length > 0 || secretName === undefined || cloud === undefined) return undefined;
  if (endpoint?.note !== undefined) checks.warn(endpoint.note);
  return {
    ...common,
    kind,
    cloud,
    region: region?.region ?? null,
    endpoint: endpoint?.origin ?? null,
    privateEndpoint,
    secretName,
  };
}

function readRegion(input: string, kind: StsKindName): RegionReading {
  const region = normalizeRegion(input);
  return { input, region, clouds: CLOUD_NAMES.filter((cloud) => regionsFor(kind, cloud).includes(region)) };
}

function unknownRegion({ input, region }: RegionReading, kind: StsKindName, cloud: CloudName): string {
  const candidates = regionsFor(kind, cloud);
  const suggestion = nearestRegion(region, candidates);
  const hint = suggestion
    ? `did you mean "${suggestion}"?`
    : `valid ${kind} regions in ${cloud}: ${candidates.join(', ')}`;
  return `unknown region "${input}" for a ${kind} resource in ${cloud}; ${hint}`;
}

/**
 * The endpoint's origin and cloud; `undefined` after reporting why it cannot be the resource's
 * own host (another resource's regional host, Translator's shared host, not a URL, …). A path is
 * dropped: the portal shows endpoints with one (`/`, a Foundry project's `/api/projects/…`), and
 * the host alone names the resource.
 */
function readEndpoint(input: string, kind: StsKindName, fail: (m: string) => void): EndpointReading | undefined {
  const checked = parseServiceUrl(input, `https://<name>.${CLOUDS.AzureCloud.customSubdomainSuffix}`);
  if (!checked.ok) {
    fail(`"endpoint" ${checked.problem}`);
    return undefined;
  }
  const { url } = checked;
  if (isLoopbackHost(url.hostname)) {
    // A local fake stands for one resource at its origin: nothing to normalise, so no path either.
    const loopback = parseOrigin(input);
    if (!loopback.ok) {
      fail(`"endpoint" ${loopback.problem}`);
      return undefined;
    }
    return { origin: loopback.origin, cloud: undefined, name: undefined };
  }
  const host = classifyEndpointHost(url.hostname);
  switch (host.form) {
    case 'subdomain':
    case 'foundry': {
      if (url.port !== '') {
        fail(
          `"endpoint" "${input}" names a port; Azure serves ${url.hostname} on 443 only: use https://${url.hostname}`,
        );
        return undefined;
      }
      const origin = customSubdomainOrigin(host.name, host.cloud);
      const why =
        host.form === 'foundry'
          ? `${url.hostname} is the resource's Foundry / Azure OpenAI host, and its key is exchanged at the same resource's custom subdomain`
          : url.pathname !== '/' || url.search !== '' || url.hash !== ''
            ? 'the host alone names the resource, so the path is dropped'
            : undefined;
      const note = why === undefined ? undefined : `"endpoint" "${input}" is used as ${origin}: ${why}`;
      return { origin, cloud: host.cloud, name: host.name, ...(note === undefined ? {} : { note }) };
    }
    case 'regional':
      fail(
        `"endpoint" ${url.hostname} is a regional endpoint shared by every resource of ${host.region} in ${host.cloud}, not a custom subdomain; use "region": "${host.region}" instead (and "endpoint" only for the resource's own https://<name>.${CLOUDS[host.cloud].customSubdomainSuffix})`,
      );
      return undefined;
    case 'translator':
      fail(
        `"endpoint" ${url.hostname} is Translator's shared host, where callers send the token, not the resource's own; give the resource's "region"${kind === 'translator' ? ' ("global" for a global Translator resource)' : ''} instead, and "endpoint" only for its custom subdomain https://<name>.${CLOUDS[host.cloud].customSubdomainSuffix}`,
      );
      return undefined;
    case 'other': {
      const label = url.hostname.split('.')[0] ?? '';
      const guess = /^[a-z0-9-]+$/i.test(label) && url.hostname.includes('.') ? label.toLowerCase() : '<name>';
      const elsewhere = CLOUD_NAMES.filter((cloud) => cloud !== 'AzureCloud')
        .map((cloud) => `.${CLOUDS[cloud].customSubdomainSuffix} in ${cloud}`)
        .join(', ');
      fail(
        `"endpoint" must be the resource's custom subdomain, https://${guess}.${CLOUDS.AzureCloud.customSubdomainSuffix} (${elsewhere}; shown on its Keys and Endpoint page), not ${url.hostname}`,
      );
      return undefined;
    }
  }
}

interface CloudEvidence {
  readonly kind: StsKindName;
  /** The resource's `cloud`, as given or defaulted. */
  readonly cloud: CloudName;
  readonly cloudGiven: boolean;
  readonly region: RegionReading | undefined;
  readonly endpoint: EndpointReading | undefined;
}

type Field = 'cloud' | 'region' | 'endpoint';

/**
 * The cloud `cloud`, `region` and the endpoint's host agree on; `undefined` after naming the
 * field that is the odd one out. Each field says a cloud when it can: `cloud` when given, a region
 * that exists in one cloud only (`global` says none), an endpoint host of a cloud. The cloud most
 * fields say wins, and the others are told what their value is in it; an unset `cloud` (the
 * public cloud by default) only breaks a tie between `region` and `endpoint`.
 */
function settleCloud(evidence: CloudEvidence, fail: (m: string) => void): CloudName | undefined {
  const said = new Map<Field, CloudName>();
  if (evidence.cloudGiven) said.set('cloud', evidence.cloud);
  if (evidence.region?.clouds.length === 1 && evidence.region.clouds[0] !== undefined)
    said.set('region', evidence.region.clouds[0]);
  if (evidence.endpoint?.cloud !== undefined) said.set('endpoint', evidence.endpoint.cloud);
  const weight = (cloud: CloudName) =>
    [...said.values()].filter((c) => c === cloud).length + (!evidence.cloudGiven && cloud === evidence.cloud ? 0.5 : 0);
  const ranked = [...CLOUD_NAMES].sort((a, b) => weight(b) - weight(a));
  const [first, second] = ranked as [CloudName, CloudName, ...CloudName[]];
  if (said.size === 0) return evidence.cloud;
  if (weight(first) === weight(second)) {
    fail(ambiguous(evidence, said));
    return undefined;
  }
  const odd = [...said].filter(([, cloud]) => cloud !== first).map(([field]) => field);
  if (!evidence.cloudGiven && first !== evidence.cloud) odd.unshift('cloud');
  for (const field of odd) fail(oddField(field, first, evidence, said));
  return odd.length === 0 ? first : undefined;
}

/** What the fields that agree on `cloud` are, for a message: `"region" and "endpoint"`. */
function witnesses(cloud: CloudName, said: ReadonlyMap<Field, CloudName>, except: Field): string {
  const fields = [...said].filter(([field, c]) => c === cloud && field !== except).map(([field]) => `"${field}"`);
  return fields.join(' and ');
}

function oddField(
  field: Field,
  cloud: CloudName,
  evidence: CloudEvidence,
  said: ReadonlyMap<Field, CloudName>,
): string {
  const { region, endpoint, kind } = evidence;
  const others = witnesses(cloud, said, field);
  switch (field) {
    case 'cloud': {
      const what =
        said.get('region') === cloud && region !== undefined
          ? `region "${region.region}" belongs to ${cloud}`
          : `"endpoint" ${endpoint === undefined ? '' : new URL(endpoint.origin).hostname} is a custom subdomain in ${cloud}`;
      const extra = said.get('region') === cloud && said.get('endpoint') === cloud ? ' (and so does "endpoint")' : '';
      return `${what}${extra}, not ${evidence.cloud}; set "cloud": "${cloud}" (keys from one cloud are rejected by the others' endpoints)`;
    }
    case 'region': {
      const candidates = regionsFor(kind, cloud);
      const home = said.get('region') ?? '';
      return `region "${region?.region ?? ''}" is in ${home}, but ${others} say ${cloud}: a ${kind} resource in ${cloud} has one of the regions ${candidates.join(', ')}; use the region from the resource's Keys and Endpoint page`;
    }
    case 'endpoint': {
      const host = endpoint === undefined ? '' : new URL(endpoint.origin).hostname;
      const name = endpoint?.name ?? '<name>';
      const suffix = CLOUDS[cloud].customSubdomainSuffix;
      return `"endpoint" ${host} is a custom subdomain in ${said.get('endpoint') ?? ''}, but ${others} say ${cloud}: a custom subdomain in ${cloud} ends in .${suffix}; use "endpoint": "https://${name}.${suffix}"`;
    }
  }
}

/** What changes `field` to a value of `cloud`. */
function fixFor(field: Field, cloud: CloudName, evidence: CloudEvidence): string {
  switch (field) {
    case 'cloud':
      return `set "cloud": "${cloud}"${cloud === 'AzureCloud' ? ' (or leave it out)' : ''}`;
    case 'region':
      return `use its region (one of ${regionsFor(evidence.kind, cloud).join(', ')})`;
    case 'endpoint':
      return `use "endpoint": "https://${evidence.endpoint?.name ?? '<name>'}.${CLOUDS[cloud].customSubdomainSuffix}"`;
  }
}

/** Fields that each say another cloud, nothing to break the tie: each way out. */
function ambiguous(evidence: CloudEvidence, said: ReadonlyMap<Field, CloudName>): string {
  const claims = [...said].map(([field, cloud]) =>
    field === 'cloud'
      ? `"cloud" is ${cloud}`
      : field === 'region'
        ? `region "${evidence.region?.region ?? ''}" belongs to ${cloud}`
        : `"endpoint" ${evidence.endpoint === undefined ? '' : new URL(evidence.endpoint.origin).hostname} is a custom subdomain in ${cloud}`,
  );
  const ways = [...new Set(said.values())].map((cloud) => {
    const changes = [...said].filter(([, c]) => c !== cloud).map(([field]) => fixFor(field, cloud, evidence));
    return `for a resource in ${cloud}, ${changes.join(' and ')}`;
  });
  return `${claims.join(', but ')}, and keys from one cloud are rejected by the others' endpoints: ${ways.join('; ')}`;
}
