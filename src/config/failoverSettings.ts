import type { CommonResourceFields, CredentialKind } from '../kinds/kind.js';
import { CLOUD_NAMES, failoverMemberName, type TokenResource } from '../model.js';
import type { SettingsReport } from './problems.js';

/**
 * What a fallback may name: where it is and how its credential is obtained. Everything else (kind,
 * roles, scopes, the operator's session, limits) is the resource's own and inherited.
 */
export const FAILOVER_FIELDS = [
  'region',
  'cloud',
  'endpoint',
  'privateEndpoint',
  'secretName',
  'resourceId',
  'deployment',
] as const;

/** Fields a fallback never inherits: `resourceId` names one account, and a fallback is another. */
const NOT_INHERITED = new Set<string>(['resourceId']);

/** What a fallback is compared on to tell it from its resource and the other fallbacks: all but its name. */
const IDENTITY_IGNORES = new Set<string>(['name', 'failover', 'resourceId']);

/** A fallback's own reader of the common fields, shared with the resource's (`resourceSettings.ts`). */
export interface MemberReaders {
  readonly cloud: (input: string, fail: (message: string) => void) => CommonResourceFields['cloud'] | undefined;
  readonly resourceId: (input: string, fail: (message: string) => void) => string | null;
}

/**
 * The `failover` list of a resource item: each entry names only what differs from the resource
 * (`FAILOVER_FIELDS` the kind has; `null` drops an inherited value, e.g. `"endpoint": null` for the
 * regional host) and is then read by the kind's own `parseResource` like any resource, its
 * problems naming it (`speech.failover[0]`). An entry that changes nothing (identical to the
 * resource, or to an earlier entry) is refused: it could never serve when the one before cannot.
 */
export function readFailover(
  primary: TokenResource,
  raw: Readonly<Record<string, unknown>>,
  kind: CredentialKind,
  readers: MemberReaders,
  report: SettingsReport,
): TokenResource[] | undefined {
  const list = raw.failover;
  if (list === undefined) return [];
  const resourceFail = (message: string) => report.problem('TOKEN_RESOURCES', message, primary.name);
  if (!Array.isArray(list)) {
    resourceFail(
      '"failover" must be a list of fallbacks, each naming what differs, e.g. [{"region":"japaneast","secretName":"speech-je-key"}]',
    );
    return undefined;
  }
  const allowed = FAILOVER_FIELDS.filter(
    (field) => field === 'cloud' || field === 'resourceId' || kind.fields.includes(field),
  );
  const members: TokenResource[] = [];
  let refused = false;
  for (const [index, item] of (list as unknown[]).entries()) {
    const name = failoverMemberName(primary.name, index);
    const member = readMember(item, { primary, raw, kind, allowed, readers, report, name });
    if (member === undefined) {
      refused = true;
      continue;
    }
    const same = [primary, ...members].find((other) => identityOf(other) === identityOf(member));
    if (same !== undefined) {
      report.problem(
        'TOKEN_RESOURCES',
        `is the same as ${same === primary ? `"${primary.name}" itself` : `"${same.name}"`}: a fallback must differ in where it is (region, cloud, endpoint) or what it uses (secretName, deployment), or it fails whenever the one before it does`,
        name,
      );
      refused = true;
      continue;
    }
    members.push(member);
  }
  return refused ? undefined : members;
}

interface MemberContext {
  readonly primary: TokenResource;
  readonly raw: Readonly<Record<string, unknown>>;
  readonly kind: CredentialKind;
  readonly allowed: readonly string[];
  readonly readers: MemberReaders;
  readonly report: SettingsReport;
  /** `speech.failover[0]`. */
  readonly name: string;
}

function readMember(item: unknown, context: MemberContext): TokenResource | undefined {
  const { primary, raw, kind, allowed, readers, report, name } = context;
  const problemsBefore = report.problems.length;
  const fail = (message: string) => report.problem('TOKEN_RESOURCES', message, name);
  const warn = (message: string) => report.warning('TOKEN_RESOURCES', message, name);
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    fail(`must be an object naming what differs from "${primary.name}" (${allowed.join(', ')})`);
    return undefined;
  }
  const own = item as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(own).filter((key) => !allowed.includes(key))) {
    fail(
      `unknown field "${key}"; a fallback names only what differs from "${primary.name}": ${allowed.join(', ')} (the rest is inherited)`,
    );
  }
  if (report.problems.length > problemsBefore) return undefined;

  // The resource's fields, then the fallback's: a null drops the inherited value.
  const inherited = Object.entries(raw).filter(
    ([key]) => key !== 'failover' && key !== 'name' && !NOT_INHERITED.has(key) && !(key in own),
  );
  const merged: Record<string, unknown> = Object.fromEntries([
    ...inherited,
    ...Object.entries(own).filter(([, value]) => value !== null),
  ]);

  const movesAway = ['region', 'cloud'].some((field) => field in own && own[field] !== raw[field]);
  if ('endpoint' in raw && !('endpoint' in own) && movesAway) {
    fail(
      `inherits "endpoint" from "${primary.name}" but names another region or cloud: an endpoint belongs to one resource in one place; give this fallback its own "endpoint" (or "endpoint": null for the regional host)`,
    );
    return undefined;
  }
  if ('secretName' in raw && !('secretName' in own) && (movesAway || 'endpoint' in own)) {
    warn(
      `uses the secret of "${primary.name}" ("${String(raw.secretName)}") somewhere else: a key works only at its own resource; if this fallback is another resource, give it its own "secretName"`,
    );
  }

  const cloudInput = typeof merged.cloud === 'string' ? merged.cloud.trim() || 'AzureCloud' : undefined;
  const cloud = cloudInput === undefined ? primary.cloud : readers.cloud(cloudInput, fail);
  const resourceId = typeof own.resourceId === 'string' ? readers.resourceId(own.resourceId.trim(), fail) : null;
  if ('cloud' in own && typeof own.cloud !== 'string') fail(`"cloud" must be one of ${CLOUD_NAMES.join(', ')}`);
  if ('resourceId' in own && typeof own.resourceId !== 'string') fail('"resourceId" must be a string');
  if (cloud === undefined || report.problems.length > problemsBefore) return undefined;

  const common: CommonResourceFields = {
    name,
    kind: primary.kind,
    cloud,
    allowedRoles: primary.allowedRoles,
    allowedScopes: primary.allowedScopes,
    resourceId,
  };
  const member = kind.parseResource(common, merged, { fail, warn });
  return report.problems.length > problemsBefore ? undefined : member;
}

/** A resource as a comparable string: every field but its name and fallbacks, keys sorted. */
function identityOf(resource: TokenResource): string {
  const fields = Object.entries(resource)
    .filter(([key]) => !IDENTITY_IGNORES.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(fields);
}
