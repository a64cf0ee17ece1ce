import { describeError } from '../errors.js';
import { z } from 'zod';
import { CLOUDS, cloudOfAuthorityHost } from '../clouds/clouds.js';
import { cloudOfRegion, nearestRegion, normalizeRegion, regionsFor } from '../clouds/regions.js';
import {
  canonicalResourceName,
  CLOUD_NAMES,
  RESOURCE_KINDS,
  RESOURCE_NAME,
  ROTATION_MARGIN_MS,
  type CloudName,
  type Config,
  type RotationConfig,
  type OperationsConfig,
  type ResourceKind,
  type TokenResource,
} from '../model.js';
import { parseLeaseStorage } from './leaseStorage.js';
import { knownSchedule, parseSchedule, type Schedule } from './schedule.js';
import { readTelemetrySettings } from './telemetrySettings.js';
import { isLoopbackHost, parseOrigin } from './urls.js';

/** Every app setting the code reads; the Bicep in infra/ is tested against this list. */
export const APP_SETTING_NAMES = [
  'AUTH_TENANT_ID',
  'AUTH_AUDIENCES',
  'AUTH_AUTHORITY_HOST',
  'KEY_VAULT_URI',
  'TOKEN_RESOURCES',
  'RATE_LIMIT_PER_MINUTE',
  'KEY_ROTATION_DAYS',
  'KEY_ROTATION_SCHEDULE',
  'SECRET_MAX_AGE_MINUTES',
  'ARM_ENDPOINT',
  'OPERATOR_ROLES',
  'SELF_CHECK_SCHEDULE',
] as const;
/** Settings the platform or the Azure SDK defines, which the code also reads. */
export const PLATFORM_SETTING_NAMES = [
  'AZURE_CLIENT_ID',
  'IDENTITY_ENDPOINT',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__accountName',
] as const;
export type AppSettingName = (typeof APP_SETTING_NAMES)[number] | (typeof PLATFORM_SETTING_NAMES)[number];

export const RESOURCE_FIELDS = [
  'name',
  'kind',
  'cloud',
  'region',
  'endpoint',
  'privateEndpoint',
  'secretName',
  'allowedRoles',
  'allowedScopes',
  'resourceId',
] as const;

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 60;
/** Every 6 hours, on the hour (00:00, 06:00, 12:00, 18:00 UTC). */
export const DEFAULT_KEY_ROTATION_SCHEDULE = '0 0 */6 * * *';
export const DEFAULT_SECRET_MAX_AGE_MINUTES = 60;
const MAX_KEY_ROTATION_DAYS = 365;
const MAX_SECRET_MAX_AGE_MINUTES = 1440;
export const DEFAULT_OPERATOR_ROLES = ['TokenVending.Operator'] as const;
/** Every 5 minutes, at second 0. */
export const DEFAULT_SELF_CHECK_SCHEDULE = '0 */5 * * * *';
/** The self-check calls Key Vault and the Speech service; more often than this is load, not watching. */
const MIN_SELF_CHECK_INTERVAL_MS = 60_000;
/** An Entra app role value: no spaces (or commas, which separate them here), not starting with a dot. */
const APP_ROLE = /^(?!\.)[\x21-\x2b\x2d-\x7e]{1,120}$/;

export interface ConfigProblem {
  readonly setting: AppSettingName;
  readonly resource?: string;
  readonly message: string;
}

/** Every problem at once, each naming its setting; never echoes a value that could be secret. */
export class ConfigurationError extends Error {
  readonly code = 'configuration_invalid';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'ConfigurationError';
  }
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.resource === undefined ? problem.setting : `${problem.setting} resource "${problem.resource}"`;
  return `${where}: ${problem.message}`;
}

export type Environment = Readonly<Record<string, string | undefined>>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

const rawResourceSchema = z.looseObject({
  name: z.string().optional(),
  kind: z.string().optional(),
  cloud: z.string().optional(),
  region: z.string().optional(),
  endpoint: z.string().optional(),
  privateEndpoint: z.boolean().optional(),
  secretName: z.string().optional(),
  allowedRoles: z.array(z.string()).optional(),
  allowedScopes: z.array(z.string()).optional(),
  resourceId: z.string().optional(),
});

/**
 * An ARM resource ID of a Cognitive Services account. ARM compares IDs case-insensitively; the
 * names follow ARM's naming rules (resource group 1-90 of letters, digits, `-_.()`; account 2-64).
 */
const ACCOUNT_ID =
  /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([-\w.()]{1,89}[-\w()])\/providers\/Microsoft\.CognitiveServices\/accounts\/([A-Za-z0-9][A-Za-z0-9-]{1,63})$/i;

export function loadConfig(env: Environment): Config {
  const problems: ConfigProblem[] = [];
  const setting = (name: AppSettingName): string | undefined => {
    const value = env[name]?.trim();
    return value || undefined; // blank app settings count as unset
  };
  const problem = (name: AppSettingName, message: string, resource?: string) =>
    problems.push(resource === undefined ? { setting: name, message } : { setting: name, resource, message });

  const tenantId = setting('AUTH_TENANT_ID');
  if (tenantId === undefined)
    problem('AUTH_TENANT_ID', 'is required: the directory (tenant) ID of your Entra tenant, a GUID');
  else if (!GUID.test(tenantId))
    problem('AUTH_TENANT_ID', 'must be the tenant GUID (Entra admin center > Overview > Tenant ID), not a domain name');

  const audiences = (setting('AUTH_AUDIENCES') ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (audiences.length === 0) {
    problem(
      'AUTH_AUDIENCES',
      "is required: the API's application (client) ID and/or App ID URI (api://...), comma-separated",
    );
  }

  const keyVaultUri = setting('KEY_VAULT_URI');
  let vaultOrigin = '';
  if (keyVaultUri === undefined)
    problem('KEY_VAULT_URI', 'is required: the vault URI, e.g. https://my-vault.vault.azure.net');
  else {
    const checked = parseOrigin(keyVaultUri);
    if (!checked.ok) problem('KEY_VAULT_URI', checked.problem);
    else if (!checked.origin.startsWith('https:'))
      problem('KEY_VAULT_URI', 'must use https, even on loopback (the Key Vault client refuses plain http)');
    else vaultOrigin = checked.origin;
  }

  let rateLimitPerMinute = DEFAULT_RATE_LIMIT_PER_MINUTE;
  const rateLimit = setting('RATE_LIMIT_PER_MINUTE');
  if (rateLimit !== undefined) {
    if (!/^\d+$/.test(rateLimit))
      problem(
        'RATE_LIMIT_PER_MINUTE',
        `must be a whole number of requests per caller per minute (0 turns the limit off), not "${rateLimit}"`,
      );
    else rateLimitPerMinute = Number(rateLimit);
  }

  const resources = parseResources(setting('TOKEN_RESOURCES'), problem);
  const secretMaxAgeMinutes = parseSecretMaxAge(setting('SECRET_MAX_AGE_MINUTES'), problem);
  const rotation = parseRotation(setting, problem, resources, secretMaxAgeMinutes);

  for (const audience of audiences) {
    const audienceOfScope = audienceBeforeScope(audience, resources);
    if (audienceOfScope !== undefined) {
      // Every caller would get 401: tokens carry the API in `aud`, never a scope.
      problem(
        'AUTH_AUDIENCES',
        `"${audience}" is a scope (what a client asks for), not an audience (what the token's aud carries); use "${audienceOfScope}"`,
      );
    }
  }
  const operations = parseOperations(setting, problem);

  // Callers sign in where the resources live; a mixed or loopback setup names its authority explicitly.
  const resourceClouds = new Set(resources.map((r) => r.cloud));
  const [onlyCloud] = resourceClouds;
  const defaultCloud: CloudName = resourceClouds.size === 1 && onlyCloud !== undefined ? onlyCloud : 'AzureCloud';
  let authorityHost = CLOUDS[defaultCloud].authorityHost;
  let authCloud = defaultCloud;
  const authorityHostSetting = setting('AUTH_AUTHORITY_HOST');
  if (authorityHostSetting !== undefined) {
    const checked = parseOrigin(authorityHostSetting);
    if (!checked.ok) problem('AUTH_AUTHORITY_HOST', checked.problem);
    else {
      authorityHost = checked.origin;
      authCloud = cloudOfAuthorityHost(authorityHost) ?? defaultCloud;
    }
  }

  // The rotation lease's storage: the host's own, in the cloud the app signs callers in.
  const leaseBlobServiceUrl = parseLeaseStorage(setting, problem, authCloud);

  const clientId = setting('AZURE_CLIENT_ID');
  if (clientId !== undefined && !GUID.test(clientId)) {
    problem('AZURE_CLIENT_ID', "must be the client ID (a GUID) of the function app's user-assigned managed identity");
  }

  if (problems.length > 0 || tenantId === undefined) throw new ConfigurationError(problems);
  return {
    auth: { tenantId, audiences, authorityHost, cloud: authCloud },
    identity: { managedIdentity: setting('IDENTITY_ENDPOINT') !== undefined, clientId },
    keyVaultUri: vaultOrigin,
    resources,
    rateLimitPerMinute,
    secretMaxAgeMs: secretMaxAgeMinutes * 60_000,
    rotation: { ...rotation, leaseBlobServiceUrl },
    operations,
    telemetry: readTelemetrySettings(
      setting('APPLICATIONINSIGHTS_CONNECTION_STRING'),
      setting('APPLICATIONINSIGHTS_AUTHENTICATION_STRING'),
      setting('OTEL_METRIC_EXPORT_INTERVAL'),
    ),
  };
}

function parseOperations(
  setting: (name: AppSettingName) => string | undefined,
  problem: (name: AppSettingName, message: string) => void,
): OperationsConfig {
  const roles = (setting('OPERATOR_ROLES') ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const badRoles = roles.filter((role) => !APP_ROLE.test(role));
  if (badRoles.length > 0)
    problem(
      'OPERATOR_ROLES',
      `must be app role values separated by commas (no spaces inside a value, not starting with ".", at most 120 characters), not ${badRoles.map((r) => `"${r}"`).join(', ')}`,
    );
  const expression = setting('SELF_CHECK_SCHEDULE') ?? DEFAULT_SELF_CHECK_SCHEDULE;
  let selfCheckSchedule = knownSchedule(DEFAULT_SELF_CHECK_SCHEDULE);
  if (expression !== DEFAULT_SELF_CHECK_SCHEDULE) {
    const parsed = parseSchedule(expression);
    const shortest = parsed.ok ? shortestInterval(parsed.schedule) : undefined;
    if (!parsed.ok) problem('SELF_CHECK_SCHEDULE', parsed.problem);
    else if (shortest === undefined)
      problem(
        'SELF_CHECK_SCHEDULE',
        `"${expression}" never fires; give e.g. "${DEFAULT_SELF_CHECK_SCHEDULE}" (every 5 minutes)`,
      );
    else if (shortest < MIN_SELF_CHECK_INTERVAL_MS)
      problem(
        'SELF_CHECK_SCHEDULE',
        `"${expression}" fires more than once a minute; each run calls Key Vault and the Speech service, so give at least a minute between runs, e.g. "${DEFAULT_SELF_CHECK_SCHEDULE}"`,
      );
    else selfCheckSchedule = parsed.schedule;
  }
  return { operatorRoles: roles.length > 0 ? roles : [...DEFAULT_OPERATOR_ROLES], selfCheckSchedule };
}

/** The shortest gap between the next few runs (a cron's gaps vary), or undefined when it never fires. */
export function shortestInterval(schedule: Schedule): number | undefined {
  // A fixed instant: the gaps of a cron expression do not depend on when they are measured from.
  let previous = schedule.nextAfter(Date.UTC(2026, 0, 1));
  if (previous === undefined) return undefined;
  let shortest = Infinity;
  for (let run = 0; run < 24; run++) {
    const next = schedule.nextAfter(previous);
    if (next === undefined) break;
    shortest = Math.min(shortest, next - previous);
    previous = next;
  }
  return shortest;
}

type Report = (name: AppSettingName, message: string, resource?: string) => void;

function parseSecretMaxAge(raw: string | undefined, problem: Report): number {
  if (raw === undefined) return DEFAULT_SECRET_MAX_AGE_MINUTES;
  const minutes = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (minutes >= 1 && minutes <= MAX_SECRET_MAX_AGE_MINUTES) return minutes;
  problem(
    'SECRET_MAX_AGE_MINUTES',
    `must be a whole number of minutes from 1 to ${MAX_SECRET_MAX_AGE_MINUTES} (how long an instance uses a secret version before reading it again; default ${DEFAULT_SECRET_MAX_AGE_MINUTES}), not "${raw}"`,
  );
  return DEFAULT_SECRET_MAX_AGE_MINUTES;
}

/**
 * The rotation settings, and what they require of the resources: a period long enough that no
 * instance can still hold the key it regenerates, and at least one resource to rotate.
 */
function parseRotation(
  setting: (name: AppSettingName) => string | undefined,
  problem: Report,
  resources: readonly TokenResource[],
  secretMaxAgeMinutes: number,
): Omit<RotationConfig, 'leaseBlobServiceUrl'> {
  let periodDays = 0;
  const days = setting('KEY_ROTATION_DAYS');
  if (days !== undefined) {
    const value = /^\d+$/.test(days) ? Number(days) : Number.NaN;
    if (value >= 0 && value <= MAX_KEY_ROTATION_DAYS) periodDays = value;
    else
      problem(
        'KEY_ROTATION_DAYS',
        `must be a whole number of days from 1 to ${MAX_KEY_ROTATION_DAYS} (0 or unset turns scheduled rotation off), not "${days}"`,
      );
  }

  const expression = setting('KEY_ROTATION_SCHEDULE') ?? DEFAULT_KEY_ROTATION_SCHEDULE;
  let schedule = knownSchedule(DEFAULT_KEY_ROTATION_SCHEDULE);
  if (expression !== DEFAULT_KEY_ROTATION_SCHEDULE) {
    const parsed = parseSchedule(expression);
    if (parsed.ok) schedule = parsed.schedule;
    else problem('KEY_ROTATION_SCHEDULE', parsed.problem);
  }

  let armEndpoint: string | null = null;
  const arm = setting('ARM_ENDPOINT');
  if (arm !== undefined) {
    const checked = parseOrigin(arm);
    if (!checked.ok) problem('ARM_ENDPOINT', checked.problem);
    // The bearer token policy refuses to send a token over plain http, loopback included.
    else if (!checked.origin.startsWith('https:'))
      problem('ARM_ENDPOINT', 'must use https, even on loopback (no Azure client sends a bearer token over http)');
    else armEndpoint = checked.origin;
  }

  if (periodDays > 0) {
    if (!resources.some((r) => r.resourceId !== null) && resources.length > 0) {
      problem(
        'KEY_ROTATION_DAYS',
        'is set, but no resource in TOKEN_RESOURCES has a "resourceId", so nothing would be rotated: give each resource to rotate the ARM ID of its account, or set KEY_ROTATION_DAYS to 0',
      );
    }
    if (secretMaxAgeMinutes * 60_000 + ROTATION_MARGIN_MS > periodDays * 86_400_000) {
      problem(
        'SECRET_MAX_AGE_MINUTES',
        `(${secretMaxAgeMinutes}) plus ${ROTATION_MARGIN_MS / 60_000} minutes must be shorter than KEY_ROTATION_DAYS (${periodDays}): a key is regenerated one period after it was replaced, and instances may hold it for SECRET_MAX_AGE_MINUTES`,
      );
    }
  }
  return { periodDays, schedule, armEndpoint };
}

function parseResources(raw: string | undefined, problem: Report): TokenResource[] {
  if (raw === undefined) {
    problem(
      'TOKEN_RESOURCES',
      'is required: a JSON array of resources, e.g. [{"name":"speech","kind":"speech","region":"westeurope","secretName":"speech-key","allowedRoles":["Speech.Token"]}]',
    );
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    problem(
      'TOKEN_RESOURCES',
      `is not valid JSON (${describeError(error)}); it must be a JSON array of resource objects`,
    );
    return [];
  }
  if (!Array.isArray(json) || json.length === 0) {
    problem('TOKEN_RESOURCES', 'must be a non-empty JSON array of resource objects');
    return [];
  }
  const resources: TokenResource[] = [];
  const seen = new Map<string, number>();
  json.forEach((item, index) => {
    const label =
      typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string'
        ? (item as { name: string }).name
        : `#${index + 1}`;
    const resource = parseResource(item, label, problem);
    if (resource === undefined) return;
    const key = canonicalResourceName(resource.name);
    if (seen.has(key)) {
      problem(
        'TOKEN_RESOURCES',
        `duplicate name (also resource #${(seen.get(key) ?? 0) + 1}); names are case-insensitive and must be unique`,
        resource.name,
      );
      return;
    }
    seen.set(key, index);
    resources.push(resource);
  });
  checkSharedAccounts(resources, problem);
  return resources;
}

/**
 * An account has one pair of keys and a secret holds one key: two resources on one account must
 * share its secret, and one secret cannot belong to two accounts, or rotating one breaks the other.
 */
function checkSharedAccounts(resources: readonly TokenResource[], problem: Report): void {
  for (const [index, resource] of resources.entries()) {
    const earlier = resources.slice(0, index);
    const sameAccount = earlier.find(
      (other) =>
        resource.resourceId !== null &&
        other.resourceId?.toLowerCase() === resource.resourceId.toLowerCase() &&
        other.secretName !== resource.secretName,
    );
    if (sameAccount !== undefined) {
      problem(
        'TOKEN_RESOURCES',
        `has the same "resourceId" as "${sameAccount.name}" but another secret ("${resource.secretName}", not "${sameAccount.secretName}"): one account has one pair of keys, so rotating one secret would break the other; give both the same "secretName"`,
        resource.name,
      );
    }
    const sameSecret = earlier.find(
      (other) =>
        other.secretName === resource.secretName &&
        (other.resourceId ?? '').toLowerCase() !== (resource.resourceId ?? '').toLowerCase(),
    );
    if (sameSecret !== undefined) {
      problem(
        'TOKEN_RESOURCES',
        `uses secret "${resource.secretName}" like "${sameSecret.name}", but with another "resourceId": a secret holds the key of one account; give both the same resourceId, or each its own secret`,
        resource.name,
      );
    }
  }
}

function parseResource(item: unknown, label: string, report: Report): TokenResource | undefined {
  const problem = (message: string) => report('TOKEN_RESOURCES', message, label);
  const parsed = rawResourceSchema.safeParse(item);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problem(
        issue.path.length
          ? `"${issue.path.join('.')}": ${issue.message}`
          : `must be an object with name, kind, region or endpoint, secretName and allowedRoles/allowedScopes (${issue.message})`,
      );
    }
    return undefined;
  }
  const raw = parsed.data;
  const failures: string[] = [];
  const fail = (message: string) => {
    problem(message);
    failures.push(message);
  };

  const unknownFields = Object.keys(raw).filter((key) => !(RESOURCE_FIELDS as readonly string[]).includes(key));
  for (const key of unknownFields) fail(`unknown field "${key}"; the fields are ${RESOURCE_FIELDS.join(', ')}`);

  const name = raw.name?.trim() ?? '';
  if (!name) fail('"name" is required (used in the URL: /api/token/{name})');
  else if (!RESOURCE_NAME.test(name))
    fail('"name" may hold letters, digits, "-" and "_" only (at most 63 characters), as it is used in the URL');

  const kind = raw.kind?.trim().toLowerCase() ?? '';
  const kindOk = (RESOURCE_KINDS as readonly string[]).includes(kind);
  if (!kind) fail(`"kind" is required: one of ${RESOURCE_KINDS.join(', ')}`);
  else if (!kindOk) fail(`unknown kind "${raw.kind}"; use one of ${RESOURCE_KINDS.join(', ')}`);
  const resourceKind = (kindOk ? kind : 'cognitive') as ResourceKind;

  const cloudInput = raw.cloud?.trim() || 'AzureCloud';
  const cloud = CLOUD_NAMES.find((c) => c.toLowerCase() === cloudInput.toLowerCase());
  if (cloud === undefined)
    fail(`unknown cloud "${cloudInput}"; use one of ${CLOUD_NAMES.join(', ')} (AzureCloud is the default)`);

  const regionInput = raw.region?.trim() || undefined;
  const endpointInput = raw.endpoint?.trim() || undefined;
  const privateEndpoint = raw.privateEndpoint ?? false;
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
  if (regionInput !== undefined && cloud !== undefined) region = checkRegion(regionInput, resourceKind, cloud, fail);
  if (endpointInput !== undefined && cloud !== undefined) endpoint = checkEndpoint(endpointInput, cloud, fail);

  const secretName = raw.secretName?.trim() ?? '';
  if (!secretName) fail('"secretName" is required: the name of the Key Vault secret that holds this resource\'s key');
  else if (!SECRET_NAME.test(secretName))
    fail(`"secretName" "${secretName}" is not a valid Key Vault secret name (letters, digits and "-", at most 127)`);

  const allowedRoles = (raw.allowedRoles ?? []).map((r) => r.trim()).filter(Boolean);
  const allowedScopes = (raw.allowedScopes ?? []).map((s) => s.trim()).filter(Boolean);
  for (const scope of allowedScopes.filter((s) => s.includes('/'))) {
    // The scp claim carries bare scope values ("Tokens.Request"), so a full scope URI never matches.
    fail(
      `"allowedScopes" holds "${scope}", a full scope; the scp claim carries only its value: use "${scope.slice(scope.lastIndexOf('/') + 1)}"`,
    );
  }
  if (allowedRoles.length === 0 && allowedScopes.length === 0) {
    fail(
      'grants nobody: list app roles in "allowedRoles" and/or delegated scopes in "allowedScopes" (an empty list is refused rather than opened to every caller)',
    );
  }

  const resourceId = raw.resourceId === undefined ? null : checkResourceId(raw.resourceId.trim(), fail);

  if (failures.length > 0 || cloud === undefined) return undefined;
  return {
    name,
    kind: resourceKind,
    cloud,
    region,
    endpoint,
    privateEndpoint,
    secretName,
    allowedRoles,
    allowedScopes,
    resourceId,
  };
}

function checkResourceId(input: string, fail: (m: string) => void): string | null {
  const id = input.replace(/\/+$/, '');
  if (ACCOUNT_ID.test(id)) return id;
  const where =
    "the account's Properties page (Resource ID) or `az cognitiveservices account show -g <group> -n <name> --query id`";
  if (GUID.test(id)) {
    fail(`"resourceId" is a GUID, probably the subscription ID; give the account's full ARM ID, from ${where}`);
    return null;
  }
  const provider = /\/providers\/([^/]+\/[^/]+)\//i.exec(id)?.[1];
  if (provider !== undefined && provider.toLowerCase() !== 'microsoft.cognitiveservices/accounts') {
    fail(
      `"resourceId" names a ${provider} resource, not a Cognitive Services account (Microsoft.CognitiveServices/accounts); give the account's ID, from ${where}`,
    );
    return null;
  }
  fail(
    `"resourceId" must be the ARM ID of the resource's Cognitive Services account, /subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>, from ${where}`,
  );
  return null;
}

function checkRegion(input: string, kind: ResourceKind, cloud: CloudName, fail: (m: string) => void): string | null {
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

/** Delegated scope values Entra apps commonly expose, beside the ones the resources list. */
const COMMON_SCOPE_VALUES = ['user_impersonation', 'access_as_user'];

/**
 * The audience an AUTH_AUDIENCES value names when it is really a scope: `api://x/.default`, or
 * `api://x/Tokens.Request` where `Tokens.Request` is a scope a resource allows (or a common one).
 * App ID URIs may have paths of their own, so only a known scope value is taken for one.
 */
function audienceBeforeScope(value: string, resources: readonly TokenResource[]): string | undefined {
  const slash = value.lastIndexOf('/');
  if (slash <= value.indexOf('://') + 2 || slash === value.length - 1) return undefined;
  const last = value.slice(slash + 1);
  const scopes = new Set([...COMMON_SCOPE_VALUES, ...resources.flatMap((r) => r.allowedScopes)]);
  return last === '.default' || scopes.has(last) ? value.slice(0, slash) : undefined;
}
