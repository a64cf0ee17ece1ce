import { z } from 'zod';
import { describeError } from '../errors/serviceError.js';
import { parseFields } from '../kinds/resourceFields.js';
import type { KindRegistry } from '../kinds/registry.js';
import {
  allMembers,
  canonicalResourceName,
  CLOUD_NAMES,
  GUID_PATTERN,
  isGuid,
  RESOURCE_NAME,
  type TokenResource,
} from '../model.js';
import { readFailover } from './failoverSettings.js';
import type { SettingsReport } from './problems.js';

/** Fields every resource has, whatever its kind; a kind module declares its own (`kinds/`). */
const commonFieldsSchema = z.looseObject({
  name: z.string().optional(),
  kind: z.string().optional(),
  cloud: z.string().optional(),
  allowedRoles: z.array(z.string()).optional(),
  allowedScopes: z.array(z.string()).optional(),
  resourceId: z.string().optional(),
  callerLimitPerMinute: z
    .number()
    .int('must be a whole number of requests per caller per minute')
    .min(0, 'must be 0 (no limit of its own) or more')
    .max(100_000)
    .optional(),
});

/** Every field a `TOKEN_RESOURCES` item may have with the given kinds, in the order the docs list them. */
export function resourceFields(kindFields: readonly string[]): string[] {
  return [
    'name',
    'kind',
    'cloud',
    ...kindFields,
    'allowedRoles',
    'allowedScopes',
    'resourceId',
    'callerLimitPerMinute',
    'failover',
  ];
}

/**
 * An ARM resource ID of a Cognitive Services account. ARM compares IDs case-insensitively; the
 * names follow ARM's naming rules (resource group 1-90 of letters, digits, `-_.()`; account 2-64).
 */
const ACCOUNT_ID = new RegExp(
  `^/subscriptions/(${GUID_PATTERN})/resourceGroups/([-\\w.()]{1,89}[-\\w()])/providers/Microsoft\\.CognitiveServices/accounts/([A-Za-z0-9][A-Za-z0-9-]{1,63})$`,
  'i',
);

/**
 * `TOKEN_RESOURCES`: a JSON array of resources. The fields every kind shares are checked here; each
 * item's own kind module (found in `kinds`) reads and checks the rest. Names are unique
 * case-insensitively, and an account's keys belong to one secret.
 */
export function readResources(raw: string | undefined, kinds: KindRegistry, report: SettingsReport): TokenResource[] {
  if (raw === undefined) {
    report.problem(
      'TOKEN_RESOURCES',
      'is required: a JSON array of resources, e.g. [{"name":"speech","kind":"speech","region":"westeurope","secretName":"speech-key","allowedRoles":["Speech.Token"]}]',
    );
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    report.problem(
      'TOKEN_RESOURCES',
      `is not valid JSON (${describeError(error)}); it must be a JSON array of resource objects`,
    );
    return [];
  }
  if (!Array.isArray(json) || json.length === 0) {
    report.problem('TOKEN_RESOURCES', 'must be a non-empty JSON array of resource objects');
    return [];
  }
  const resources: TokenResource[] = [];
  const seen = new Map<string, number>();
  json.forEach((item: unknown, index) => {
    const named = z.object({ name: z.string() }).safeParse(item);
    const label = named.success ? named.data.name : `#${index + 1}`;
    const resource = readResource(item, label, kinds, report);
    if (resource === undefined) return;
    const key = canonicalResourceName(resource.name);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      report.problem(
        'TOKEN_RESOURCES',
        `duplicate name (also resource #${earlier + 1}); names are case-insensitive and must be unique`,
        resource.name,
      );
      return;
    }
    seen.set(key, index);
    resources.push(resource);
  });
  checkSharedAccounts(allMembers(resources), report);
  return resources;
}

function readResource(
  item: unknown,
  label: string,
  kinds: KindRegistry,
  report: SettingsReport,
): TokenResource | undefined {
  const problemsBefore = report.problems.length;
  const fail = (message: string) => report.problem('TOKEN_RESOURCES', message, label);
  const warn = (message: string) => report.warning('TOKEN_RESOURCES', message, label);
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    fail(
      `must be an object with name, kind, region or endpoint, secretName and allowedRoles/allowedScopes, not ${Array.isArray(item) ? 'an array' : item === null ? 'null' : typeof item}`,
    );
    return undefined;
  }
  const raw = item as Readonly<Record<string, unknown>>;
  const common = parseFields(commonFieldsSchema, raw, fail);
  if (common === undefined) return undefined;

  const kindInput = common.kind?.trim() ?? '';
  const found = kindInput ? kinds.find(kindInput) : undefined;
  const fields = resourceFields(found === undefined ? kinds.fields : found.kind.fields);
  for (const key of Object.keys(raw).filter((key) => !fields.includes(key)))
    fail(`unknown field "${key}"; the fields are ${fields.join(', ')}`);

  const name = common.name?.trim() ?? '';
  if (!name) fail('"name" is required (used in the URL: /api/token/{name})');
  else if (!RESOURCE_NAME.test(name))
    fail('"name" may hold letters, digits, "-" and "_" only (at most 63 characters), as it is used in the URL');

  if (!kindInput) fail(`"kind" is required: one of ${kinds.names.join(', ')}`);
  else if (found === undefined)
    fail(
      kinds.refusal(kindInput) ??
        `unknown kind "${common.kind}"; use one of ${kinds.names.join(', ')} (or Azure's names for them: ${Object.keys(kinds.aliases).join(', ')})`,
    );

  const cloud = checkCloud(common.cloud?.trim() || 'AzureCloud', fail);

  const allowedRoles = (common.allowedRoles ?? []).map((r) => r.trim()).filter(Boolean);
  const allowedScopes = (common.allowedScopes ?? []).map((s) => s.trim()).filter(Boolean);
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
  const resourceId = common.resourceId === undefined ? null : checkResourceId(common.resourceId.trim(), fail);

  if (cloud === undefined || found === undefined) return undefined;
  // 0 is "no limit of its own": RATE_LIMIT_PER_MINUTE alone applies.
  const callerLimit = common.callerLimitPerMinute ? { callerLimitPerMinute: common.callerLimitPerMinute } : {};
  const resource = found.kind.parseResource(
    { name, kind: found.name, cloud, allowedRoles, allowedScopes, resourceId, ...callerLimit },
    raw,
    { fail, warn },
  );
  if (resource === undefined || report.problems.length > problemsBefore) return undefined;
  const failover = readFailover(resource, raw, found.kind, { cloud: checkCloud, resourceId: checkResourceId }, report);
  if (failover === undefined) return undefined;
  return failover.length === 0 ? resource : { ...resource, failover };
}

function checkCloud(input: string, fail: (m: string) => void): TokenResource['cloud'] | undefined {
  const cloud = CLOUD_NAMES.find((c) => c.toLowerCase() === input.toLowerCase());
  if (cloud === undefined)
    fail(`unknown cloud "${input}"; use one of ${CLOUD_NAMES.join(', ')} (AzureCloud is the default)`);
  return cloud;
}

/**
 * An account has one pair of keys and a secret holds one key: two resources on one account must
 * share its secret, and one secret cannot belong to two accounts, or rotating one breaks the other.
 */
function checkSharedAccounts(resources: readonly TokenResource[], report: SettingsReport): void {
  for (const [index, resource] of resources.entries()) {
    const earlier = resources.slice(0, index);
    const sameAccount = earlier.find(
      (other) =>
        resource.resourceId !== null &&
        other.resourceId?.toLowerCase() === resource.resourceId.toLowerCase() &&
        other.secretName !== resource.secretName,
    );
    if (sameAccount !== undefined) {
      report.problem(
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
      report.problem(
        'TOKEN_RESOURCES',
        `uses secret "${resource.secretName}" like "${sameSecret.name}", but with another "resourceId": a secret holds the key of one account; give both the same resourceId, or each its own secret`,
        resource.name,
      );
    }
  }
}

function checkResourceId(input: string, fail: (m: string) => void): string | null {
  const id = input.replace(/\/+$/, '');
  if (ACCOUNT_ID.test(id)) return id;
  const where =
    "the account's Properties page (Resource ID) or `az cognitiveservices account show -g <group> -n <name> --query id`";
  if (isGuid(id)) {
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
