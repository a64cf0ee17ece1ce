// azd `preprovision` hook: creates or reuses the Entra app registration the service accepts tokens
// for, and stores what the Bicep needs as azd environment values, so a fresh `azd up` needs no step
// by hand. Idempotent: a second run reads and changes nothing. Runs on Node (which `azd deploy`
// needs anyway, to build the bundle), with no dependencies, on Linux, macOS and Windows alike.
//
// What it ensures, through the Azure CLI (`az rest` against Microsoft Graph in az's cloud):
// - the API app `ai-token-vending-<env>`: identifier URI api://<appId>, the delegated scope
//   Tokens.Request, an app role for every role AI_RESOURCES lists, REALTIME_ALLOWED_ROLES (with
//   REALTIME_ENABLED) and OPERATOR_ROLES,
//   v2 access tokens; and its service principal (so users and apps can be assigned roles);
// - with SPA_REDIRECT_URIS: the single-page-app client `ai-token-vending-<env>-spa` with those
//   redirect URIs, asking for Tokens.Request, pre-authorized by the API (no consent prompt).
// It adds what is missing and never removes or rewrites anything: roles and scopes others added
// stay, and so do ones a resource no longer lists (remove those in the portal).
//
// azd values read: AZURE_ENV_NAME, AZURE_SUBSCRIPTION_ID, AUTH_TENANT_ID, AUTH_API_APP_ID,
// AUTH_AUDIENCES, AUTH_SPA_CLIENT_ID, AI_RESOURCES, REALTIME_ENABLED, REALTIME_ALLOWED_ROLES,
// OPERATOR_ROLES, SPA_REDIRECT_URIS,
// CORS_ALLOWED_ORIGINS. Written (azd env set, only when they change): AUTH_API_APP_ID,
// AUTH_AUDIENCES, AUTH_TENANT_ID, AUTH_API_SCOPE, AUTH_SPA_CLIENT_ID, CORS_ALLOWED_ORIGINS.
// AUTH_AUDIENCES set without AUTH_API_APP_ID means the registration is yours: Entra is left alone.
// docs/deploy.md has the whole story.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCOPE = 'Tokens.Request';
// The Bicep defaults of aiResources, realtimeAllowedRoles and operatorRoles (infra/main.bicep); a
// test keeps them in step.
const DEFAULT_RESOURCE_ROLES = ['Speech.Token'];
const DEFAULT_REALTIME_ROLES = 'Realtime.Talk';
const DEFAULT_OPERATOR_ROLES = 'TokenVending.Operator';
// Graph replicates a new object for a few seconds; a write to it right after may not find it.
// PREPROVISION_RETRY_DELAY_MS is for tests (0).
const REPLICATION_RETRIES = 6;
const REPLICATION_DELAY_MS = Number(process.env.PREPROVISION_RETRY_DELAY_MS ?? 5000);

class HookError extends Error {}

const env = (name) => {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};
const list = (value) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
const log = (line) => console.log(`preprovision: ${line}`);

// ---------------------------------------------------------------------------------------------
// The CLIs

const windows = process.platform === 'win32';
const work = mkdtempSync(join(tmpdir(), 'preprovision-'));

/**
 * On Windows `az` is `az.cmd`, which only cmd.exe runs: its arguments are quoted for cmd (bodies go
 * in files, never on a command line). `azd` is an .exe, started directly with Node's own quoting.
 */
const quote = (arg) => (/[^\w./:=@-]/.test(arg) ? `"${arg}"` : arg);

/** Runs a CLI; its stdout, or a HookError carrying its stderr. */
function run(command, args) {
  const shell = windows && command === 'az';
  const result = spawnSync(command, shell ? args.map(quote) : args, { encoding: 'utf8', shell });
  // cmd.exe says a missing command in words; spawn says ENOENT.
  if (result.error?.code === 'ENOENT' || (shell && /is not recognized as an internal or external command/.test(result.stderr)))
    throw new HookError(
      command === 'az'
        ? 'the Azure CLI (az) is not on PATH: install it (https://aka.ms/azure-cli) and run az login, or register the app yourself and set AUTH_AUDIENCES (docs/deploy.md).'
        : `${command} is not on PATH.`,
    );
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const error = new HookError(`${command} ${args.slice(0, 4).join(' ')} failed: ${result.stderr.trim()}`);
    error.stderr = result.stderr;
    throw error;
  }
  return result.stdout;
}

const az = (...args) => {
  const out = run('az', [...args, '--output', 'json', '--only-show-errors']);
  return out.trim() === '' ? undefined : JSON.parse(out);
};

/** The Graph error code in az's message (`Forbidden({"error":{"code":...}})`), if any. */
const graphCode = (error) => /"code"\s*:\s*"([^"]+)"/.exec(error.stderr ?? '')?.[1];

let graph;
let bodies = 0;

/** One Graph call through `az rest`; the body travels in a file, so no shell ever quotes JSON. */
function request(method, path, body) {
  const args = ['rest', '--method', method, '--uri', `${graph}/v1.0/${path}`];
  if (body !== undefined) {
    const file = join(work, `body-${++bodies}.json`);
    writeFileSync(file, JSON.stringify(body));
    args.push('--headers', 'Content-Type=application/json', '--body', `@${file}`);
  }
  try {
    return az(...args);
  } catch (error) {
    if (graphCode(error) === 'Authorization_RequestDenied')
      throw new HookError(
        `Microsoft Graph refused ${method} ${path}: you may not ${method === 'POST' ? 'register applications' : 'change this app registration'} in this tenant. ` +
          'Ask an administrator for the Application Developer role (or to add you as an owner of the app), or to run `azd hooks run preprovision` for you; ' +
          'or register the app yourself and set AUTH_AUDIENCES (docs/deploy.md).',
      );
    throw error;
  }
}

/** A write; when it names an object created in this run (`fresh`), retried while Graph has not replicated it yet. */
async function write(fresh, call) {
  if (!fresh) return call();
  for (let attempt = 1; ; attempt++) {
    try {
      return call();
    } catch (error) {
      const code = graphCode(error);
      const notYet =
        code === 'Request_ResourceNotFound' ||
        /does not reference a valid application object|does not exist or one of its queried reference-property/i.test(
          error.stderr ?? '',
        );
      if (!notYet || attempt >= REPLICATION_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, REPLICATION_DELAY_MS));
    }
  }
}

const filterPath = (collection, property, value) =>
  `${collection}?$filter=${encodeURIComponent(`${property} eq '${value.replace(/'/g, "''")}'`)}`;

/** The app registration with this appId, or undefined. */
const appById = (appId) => request('GET', filterPath('applications', 'appId', appId)).value[0];

// ---------------------------------------------------------------------------------------------
// What the settings ask for

/** The app role values AI_RESOURCES, REALTIME_ALLOWED_ROLES (with REALTIME_ENABLED) and OPERATOR_ROLES name, in order, once each. */
function wantedRoles() {
  let resourceRoles = DEFAULT_RESOURCE_ROLES;
  const resources = env('AI_RESOURCES');
  if (resources !== undefined) {
    let parsed;
    try {
      parsed = JSON.parse(resources);
    } catch (error) {
      throw new HookError(
        `AI_RESOURCES is not JSON (${error.message}): set it to the resources' JSON array, e.g. azd env set AI_RESOURCES '[{"name":"speech","kind":"speech","region":"westeurope","allowedRoles":["Speech.Token"],"allowedScopes":[]}]'.`,
      );
    }
    if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== 'object' || item === null))
      throw new HookError('AI_RESOURCES must be a JSON array of resources (objects), as infra/main.bicep aiResources.');
    resourceRoles = parsed.flatMap((item) => (Array.isArray(item.allowedRoles) ? item.allowedRoles : []));
  }
  const realtimeRoles = env('REALTIME_ENABLED')?.toLowerCase() === 'true' ? list(env('REALTIME_ALLOWED_ROLES') ?? DEFAULT_REALTIME_ROLES) : [];
  return [...new Set([...resourceRoles, ...realtimeRoles, ...list(env('OPERATOR_ROLES') ?? DEFAULT_OPERATOR_ROLES)])];
}

/** CORS_ALLOWED_ORIGINS as the JSON array azd passes to the Bicep: a comma-separated list is accepted too. */
function corsOrigins(spaRedirectUris) {
  const value = env('CORS_ALLOWED_ORIGINS');
  if (value === undefined) {
    // A SPA calls the API from its own origin: without CORS its first call fails with "Failed to fetch".
    const origins = [...new Set(spaRedirectUris.map((uri) => new URL(uri).origin))];
    return origins.length === 0 ? undefined : JSON.stringify(origins);
  }
  if (value.startsWith('[')) return value;
  return JSON.stringify(list(value));
}

function spaRedirectUris() {
  const uris = list(env('SPA_REDIRECT_URIS'));
  for (const uri of uris) {
    let url;
    try {
      url = new URL(uri);
    } catch {
      throw new HookError(`SPA_REDIRECT_URIS: ${uri} is not a URL (e.g. https://app.contoso.com/ or http://localhost:5173/).`);
    }
    if (url.protocol !== 'https:' && url.hostname !== 'localhost')
      throw new HookError(`SPA_REDIRECT_URIS: ${uri} must be https (Entra allows http for localhost only).`);
  }
  return uris;
}

// ---------------------------------------------------------------------------------------------
// Entra

const role = (value, operator) => ({
  id: randomUUID(),
  value,
  displayName: value,
  description: operator
    ? 'Read GET /api/status: the state of every resource, never a key or a token.'
    : `Request short-lived tokens for the resources that list ${value} in allowedRoles.`,
  allowedMemberTypes: ['User', 'Application'],
  isEnabled: true,
});

const scope = () => ({
  id: randomUUID(),
  value: SCOPE,
  type: 'User',
  isEnabled: true,
  adminConsentDisplayName: 'Request Azure AI tokens',
  adminConsentDescription: 'Lets the app request short-lived Azure AI tokens for the signed-in user.',
  userConsentDisplayName: 'Request Azure AI tokens',
  userConsentDescription: 'Lets the app request short-lived Azure AI tokens for you.',
});

/** The app registration named by `idSetting`, else the one with `displayName`, else a new one. */
function findOrCreate(idSetting, displayName, creation) {
  const appId = env(idSetting);
  if (appId !== undefined) {
    const app = appById(appId);
    if (app === undefined)
      throw new HookError(
        `${idSetting} is ${appId}, but this tenant has no app registration with that client ID. ` +
          `Sign in to the tenant that holds it (az login --tenant <tenant>), or clear it (azd env set ${idSetting} "") to create one.`,
      );
    return { app, created: false };
  }
  const named = request('GET', filterPath('applications', 'displayName', displayName)).value;
  if (named.length > 1)
    throw new HookError(
      `${named.length} app registrations are named ${displayName} (${named.map((app) => app.appId).join(', ')}): ` +
        `set ${idSetting} to the one this environment uses (azd env set ${idSetting} <client ID>).`,
    );
  if (named.length === 1) {
    log(`reusing the app registration ${displayName} (${named[0].appId})`);
    return { app: named[0], created: false };
  }
  const app = request('POST', 'applications', { displayName, signInAudience: 'AzureADMyOrg', ...creation });
  log(`created the app registration ${displayName} (${app.appId})`);
  return { app, created: true };
}

/** PATCHes the properties in `changes`, if any. */
async function patch(app, fresh, changes) {
  if (Object.keys(changes).length === 0) return;
  await write(fresh, () => request('PATCH', `applications/${app.id}`, changes));
  log(`updated ${app.displayName}: ${Object.keys(changes).join(', ')}`);
  Object.assign(app, changes);
}

async function ensureServicePrincipal(app, fresh) {
  const found = request('GET', filterPath('servicePrincipals', 'appId', app.appId)).value[0];
  if (found !== undefined) return;
  await write(fresh, () => request('POST', 'servicePrincipals', { appId: app.appId }));
  log(`created the service principal of ${app.displayName}`);
}

async function ensureApi(roles) {
  const { app, created } = findOrCreate('AUTH_API_APP_ID', `ai-token-vending-${env('AZURE_ENV_NAME')}`, {
    api: { requestedAccessTokenVersion: 2 },
  });
  const changes = {};
  const uri = `api://${app.appId}`;
  if (!(app.identifierUris ?? []).includes(uri)) changes.identifierUris = [...(app.identifierUris ?? []), uri];
  const api = app.api ?? {};
  if (!(api.oauth2PermissionScopes ?? []).some((s) => s.value === SCOPE))
    changes.api = { ...api, oauth2PermissionScopes: [...(api.oauth2PermissionScopes ?? []), scope()] };
  const existing = app.appRoles ?? [];
  const operatorRoles = new Set(list(env('OPERATOR_ROLES') ?? DEFAULT_OPERATOR_ROLES));
  const missing = roles.filter((value) => !existing.some((r) => r.value === value));
  if (missing.length > 0)
    changes.appRoles = [...existing, ...missing.map((value) => role(value, operatorRoles.has(value)))];
  for (const r of existing)
    if (roles.includes(r.value) && r.isEnabled === false)
      log(`warning: the app role ${r.value} is disabled on ${app.displayName}: enable it in the portal, or callers holding it are refused`);
  await patch(app, created, changes);
  await ensureServicePrincipal(app, created);
  return app;
}

async function ensureSpa(api, redirectUris) {
  const scopeId = api.api.oauth2PermissionScopes.find((s) => s.value === SCOPE).id;
  const { app, created } = findOrCreate('AUTH_SPA_CLIENT_ID', `ai-token-vending-${env('AZURE_ENV_NAME')}-spa`, {});
  const changes = {};
  const spa = app.spa ?? {};
  const uris = spa.redirectUris ?? [];
  if (redirectUris.some((uri) => !uris.includes(uri)))
    changes.spa = { ...spa, redirectUris: [...uris, ...redirectUris.filter((uri) => !uris.includes(uri))] };
  const access = app.requiredResourceAccess ?? [];
  const forApi = access.find((a) => a.resourceAppId === api.appId);
  if (!forApi?.resourceAccess.some((a) => a.id === scopeId && a.type === 'Scope'))
    changes.requiredResourceAccess = [
      ...access.filter((a) => a !== forApi),
      { resourceAppId: api.appId, resourceAccess: [...(forApi?.resourceAccess ?? []), { id: scopeId, type: 'Scope' }] },
    ];
  await patch(app, created, changes);
  await ensureServicePrincipal(app, created);

  // Pre-authorized by the API: users are not asked to consent to Tokens.Request. It names the SPA,
  // which may be moments old.
  const preAuthorized = api.api.preAuthorizedApplications ?? [];
  const entry = preAuthorized.find((p) => p.appId === app.appId);
  if (!entry?.delegatedPermissionIds.includes(scopeId))
    await patch(api, created, {
      api: {
        ...api.api,
        preAuthorizedApplications: [
          ...preAuthorized.filter((p) => p !== entry),
          { appId: app.appId, delegatedPermissionIds: [...(entry?.delegatedPermissionIds ?? []), scopeId] },
        ],
      },
    });
  return app;
}

// ---------------------------------------------------------------------------------------------

/** Sets the azd values that differ from what azd has; a run that changes nothing sets nothing. */
function store(values) {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || (process.env[name] ?? '') === value) continue;
    run('azd', ['env', 'set', name, value]);
    log(`azd env set ${name} ${value}`);
  }
}

/** The tenant the app registration belongs in, checked against the one az signs in to. */
function tenant() {
  let current;
  try {
    current = az('account', 'show');
  } catch (error) {
    if (error.stderr === undefined) throw error;
    throw new HookError(
      `the Azure CLI is not signed in (${error.message.replace(/\s+/g, ' ')}). Run az login: this hook registers the app as you, through az; azd auth login does not sign az in.`,
    );
  }
  const subscription = env('AZURE_SUBSCRIPTION_ID');
  const deployment = subscription === undefined ? current : az('account', 'show', '--subscription', subscription);
  const wanted = env('AUTH_TENANT_ID') ?? deployment.tenantId;
  if (wanted !== current.tenantId)
    throw new HookError(
      `az is signed in to tenant ${current.tenantId} (subscription ${current.id}), but the app registration belongs in ${wanted}` +
        `${env('AUTH_TENANT_ID') === undefined ? ` (the tenant of AZURE_SUBSCRIPTION_ID ${subscription})` : ' (AUTH_TENANT_ID)'}: ` +
        `run az account set --subscription ${subscription ?? '<subscription>'} or az login --tenant ${wanted}, then azd provision again.`,
    );
  return wanted;
}

async function main() {
  if (env('AZURE_ENV_NAME') === undefined)
    throw new HookError('AZURE_ENV_NAME is not set: run this through azd (azd up, azd provision or azd hooks run preprovision).');
  const redirectUris = spaRedirectUris();
  const roles = wantedRoles();
  const cors = corsOrigins(redirectUris);

  if (env('AUTH_AUDIENCES') !== undefined && env('AUTH_API_APP_ID') === undefined) {
    log('AUTH_AUDIENCES is set and AUTH_API_APP_ID is not: the app registration is yours, Entra is left as it is.');
    store({ CORS_ALLOWED_ORIGINS: cors });
    return;
  }

  const tenantId = tenant();
  try {
    graph = az('cloud', 'show').endpoints.microsoftGraphResourceId.replace(/\/+$/, '');
  } catch (error) {
    if (error instanceof HookError) throw error;
    throw new HookError(`az cloud show gave no Microsoft Graph endpoint: ${error.message}`);
  }
  const api = await ensureApi(roles);
  const spa = redirectUris.length === 0 ? undefined : await ensureSpa(api, redirectUris);
  store({
    AUTH_API_APP_ID: api.appId,
    AUTH_TENANT_ID: tenantId,
    // The App ID URIs (v1 access tokens carry one as aud) and the client ID (v2 tokens).
    AUTH_AUDIENCES: [...api.identifierUris, api.appId].join(','),
    AUTH_API_SCOPE: `api://${api.appId}/${SCOPE}`,
    AUTH_SPA_CLIENT_ID: spa?.appId,
    CORS_ALLOWED_ORIGINS: cors,
  });
}

try {
  await main();
} catch (error) {
  console.error(`preprovision: ${error instanceof HookError ? error.message : error.stack}`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
