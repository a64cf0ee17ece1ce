import { AUTHORITY_HOST_ALIASES, CLOUDS, cloudOfAuthorityHost } from '../clouds/clouds.js';
import { isLoopbackHost, parseOrigin } from '../http/urls.js';
import {
  CLOUD_NAMES,
  isGuid,
  type AuthConfig,
  type CloudName,
  type IdentityConfig,
  type TokenResource,
} from '../model.js';
import { listSetting, type ReadSetting } from './appSettings.js';
import type { SettingsReport } from './problems.js';

/** Delegated scope values Entra apps commonly expose, beside the ones the resources list. */
const COMMON_SCOPE_VALUES = ['user_impersonation', 'access_as_user'];

/**
 * Who may call (`AUTH_TENANT_ID`, `AUTH_AUDIENCES`, `AUTH_AUTHORITY_HOST`,
 * `AUTH_ALLOWED_CLIENT_APPS`): callers sign in where the resources live, so the authority follows
 * the resources' cloud when they share one; a mixed or loopback setup names its authority
 * explicitly. `undefined` when the tenant is missing.
 */
export function readCallerAuth(
  setting: ReadSetting,
  report: SettingsReport,
  resources: readonly TokenResource[],
): AuthConfig | undefined {
  const tenantId = setting('AUTH_TENANT_ID');
  if (tenantId === undefined)
    report.problem('AUTH_TENANT_ID', 'is required: the directory (tenant) ID of your Entra tenant, a GUID');
  else if (!isGuid(tenantId))
    report.problem(
      'AUTH_TENANT_ID',
      'must be the tenant GUID (Entra admin center > Overview > Tenant ID), not a domain name',
    );

  const audiences = listSetting(setting('AUTH_AUDIENCES'));
  if (audiences.length === 0) {
    report.problem(
      'AUTH_AUDIENCES',
      "is required: the API's application (client) ID and/or App ID URI (api://...), comma-separated",
    );
  }
  for (const audience of audiences) {
    const audienceOfScope = audienceBeforeScope(audience, resources);
    if (audienceOfScope !== undefined) {
      // Every caller would get 401: tokens carry the API in `aud`, never a scope.
      report.problem(
        'AUTH_AUDIENCES',
        `"${audience}" is a scope (what a client asks for), not an audience (what the token's aud carries); use "${audienceOfScope}"`,
      );
    }
  }

  const defaultCloud = cloudOfResources(resources);
  let authorityHost = CLOUDS[defaultCloud].authorityHost;
  let cloud = defaultCloud;
  const authorityHostSetting = setting('AUTH_AUTHORITY_HOST');
  if (authorityHostSetting !== undefined) {
    const checked = parseOrigin(authorityHostSetting);
    if (!checked.ok) report.problem('AUTH_AUTHORITY_HOST', checked.problem);
    else {
      authorityHost = checked.origin;
      const known = cloudOfAuthorityHost(authorityHost);
      cloud = known ?? defaultCloud;
      if (known === undefined && !isLoopbackHost(new URL(authorityHost).hostname)) {
        report.warning(
          'AUTH_AUTHORITY_HOST',
          `${authorityHost} is not a known Entra authority host (${knownAuthorityHosts()}); discovery runs there, and v1.0 tokens are accepted with the issuer of ${cloud}${new Set(resources.map((r) => r.cloud)).size > 1 ? ' (the default for resources in more than one cloud)' : ''}`,
        );
      }
    }
  }
  const allowedClientApps = readAllowedClientApps(setting, report);
  return tenantId === undefined ? undefined : { tenantId, audiences, authorityHost, cloud, allowedClientApps };
}

/**
 * `AUTH_ALLOWED_CLIENT_APPS`: the application (client) IDs whose tokens are accepted, compared in
 * lower case; a value that is not a GUID (an app's name, an App ID URI) is refused, since no token
 * would ever match it.
 */
function readAllowedClientApps(setting: ReadSetting, report: SettingsReport): string[] {
  const apps = listSetting(setting('AUTH_ALLOWED_CLIENT_APPS'));
  for (const app of apps.filter((value) => !isGuid(value))) {
    report.problem(
      'AUTH_ALLOWED_CLIENT_APPS',
      `"${app}" is not an application (client) ID: list the GUIDs of the client apps (App registrations > Overview > Application (client) ID), comma-separated`,
    );
  }
  return apps.map((app) => app.toLowerCase());
}

function knownAuthorityHosts(): string {
  return CLOUD_NAMES.flatMap((cloud) => [CLOUDS[cloud].authorityHost, ...AUTHORITY_HOST_ALIASES[cloud]])
    .map((host) => new URL(host).host)
    .join(', ');
}

/**
 * The caller settings of a tool that serves no caller (`npm run rotate`): no tenant and no
 * audience, so no token could ever be accepted; only the cloud is kept, for the hosts it derives.
 */
export function noCallers(resources: readonly TokenResource[]): AuthConfig {
  const cloud = cloudOfResources(resources);
  return { tenantId: '', audiences: [], authorityHost: CLOUDS[cloud].authorityHost, cloud, allowedClientApps: [] };
}

/** The resources' cloud when they share one; else the public cloud. */
function cloudOfResources(resources: readonly TokenResource[]): CloudName {
  const clouds = new Set(resources.map((r) => r.cloud));
  const [only] = clouds;
  return clouds.size === 1 && only !== undefined ? only : 'AzureCloud';
}

/**
 * The app's own identity: the managed identity in Azure (`IDENTITY_ENDPOINT` is set there), with
 * the user-assigned identity's client ID (`AZURE_CLIENT_ID`) when it has one.
 */
export function readIdentity(setting: ReadSetting, report: SettingsReport): IdentityConfig {
  const clientId = setting('AZURE_CLIENT_ID');
  if (clientId !== undefined && !isGuid(clientId)) {
    report.problem(
      'AZURE_CLIENT_ID',
      "must be the client ID (a GUID) of the function app's user-assigned managed identity",
    );
  }
  return { managedIdentity: setting('IDENTITY_ENDPOINT') !== undefined, clientId };
}

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
