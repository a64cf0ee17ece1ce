import { authorityHostsOf, CLOUDS, cloudOfAuthorityHost } from '../clouds/clouds.js';
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
import { readAudiences } from './audiences.js';
import type { SettingsReport } from './problems.js';

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

  const audiences = readAudiences(listSetting(setting('AUTH_AUDIENCES')), { tenantId, resources }, report);

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
  return CLOUD_NAMES.flatMap(authorityHostsOf)
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
