/**
 * The Azure CLI (`az`) and the Azure Developer CLI (`azd`) as the azd preprovision hook
 * (infra/hooks/preprovision.mjs) uses them, as executables on a PATH: `az account show`,
 * `az cloud show`, `az rest` against Microsoft Graph (applications and service principals, with
 * Graph's own rules for what a PATCH may change), and `azd env set`. The state (sign-in, cloud,
 * tenant, Graph objects, azd values) lives in the test's process, so it outlives each CLI process
 * as it does in Entra; every call is recorded. `az` answers failures as az does:
 * `ERROR: <reason>(<body>)` on stderr, exit code 1.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type FakeCloud = 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment';

/** Microsoft Graph per cloud, as `az cloud show` gives `endpoints.microsoftGraphResourceId`. */
export const GRAPH_ENDPOINTS: Record<FakeCloud, string> = {
  AzureCloud: 'https://graph.microsoft.com/',
  AzureChinaCloud: 'https://microsoftgraph.chinacloudapi.cn/',
  AzureUSGovernment: 'https://graph.microsoft.us/',
};

interface Entitlement {
  readonly id: string;
  readonly value: string;
  readonly isEnabled: boolean;
  readonly [property: string]: unknown;
}

/** An application object, with the properties the hook reads and writes (Graph v1.0 names). */
export interface GraphApplication {
  readonly id: string;
  readonly appId: string;
  displayName: string;
  signInAudience: string;
  identifierUris: string[];
  appRoles: Entitlement[];
  api: {
    requestedAccessTokenVersion: number | null;
    oauth2PermissionScopes: Entitlement[];
    preAuthorizedApplications: { appId: string; delegatedPermissionIds: string[] }[];
  };
  spa: { redirectUris: string[] };
  requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: string }[] }[];
}

/** A scripted Graph failure: the next `times` calls with this method whose path contains `path`. */
export interface GraphFailure {
  readonly method: string;
  readonly path: string;
  readonly reason: string;
  readonly code: string;
  readonly message: string;
  times: number;
}

export interface CliCall {
  readonly cli: 'az' | 'azd';
  readonly args: readonly string[];
  /** `az rest`: the method, the URI and the body sent. */
  readonly rest?: { readonly method: string; readonly uri: string; readonly body?: unknown };
  readonly exitCode: number;
}

export interface CliState {
  signedIn: boolean;
  cloud: FakeCloud;
  /** The subscription az uses now. */
  account: { id: string; tenantId: string };
  /** Every subscription az can see, with its tenant. */
  subscriptions: Record<string, string>;
  applications: GraphApplication[];
  servicePrincipals: { id: string; appId: string }[];
  failures: GraphFailure[];
  /** What `azd env set` stored. */
  azdEnv: Record<string, string>;
  calls: CliCall[];
}

class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const graphError = (reason: string, code: string, message: string) =>
  new CliFailure(`${reason}(${JSON.stringify({ error: { code, message } })})`);

const notFound = (what: string) =>
  graphError(
    'Not Found',
    'Request_ResourceNotFound',
    `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`,
  );

const badRequest = (message: string) => graphError('Bad Request', 'Request_BadRequest', message);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Graph's rules for a collection of roles or scopes: GUID ids, unique ids and values, no enabled one dropped or changed. */
function checkEntitlements(kind: string, before: readonly Entitlement[], after: unknown): Entitlement[] {
  if (!Array.isArray(after)) throw badRequest(`${kind} must be an array.`);
  const items = after as Entitlement[];
  for (const item of items) {
    if (typeof item.id !== 'string' || !GUID.test(item.id)) throw badRequest(`${kind}: id must be a GUID.`);
    if (typeof item.value !== 'string' || item.value === '' || /\s/.test(item.value))
      throw badRequest(`${kind}: value must be a non-empty string without spaces.`);
  }
  if (new Set(items.map((i) => i.id)).size !== items.length || new Set(items.map((i) => i.value)).size !== items.length)
    throw graphError('Bad Request', 'Request_BadRequest', `${kind}: ids and values must be unique.`);
  for (const old of before.filter((e) => e.isEnabled)) {
    const now = items.find((i) => i.id === old.id);
    if (now === undefined || JSON.stringify(now) !== JSON.stringify(old))
      throw graphError(
        'Bad Request',
        'CannotDeleteOrUpdateEnabledEntitlement',
        `Property ${kind}.${old.value} is invalid: an enabled entitlement cannot be deleted or updated; disable it first.`,
      );
  }
  return items;
}

function filterOf(query: string): (object: Record<string, unknown>) => boolean {
  const filter = new URLSearchParams(query).get('$filter') ?? '';
  const match = /^(\w+) eq '((?:[^']|'')*)'$/.exec(filter);
  if (match === null) throw badRequest(`Unsupported $filter: ${filter}`);
  const [, property = '', value = ''] = match;
  return (object) => object[property] === value.replace(/''/g, "'");
}

function graph(state: CliState, method: string, path: string, query: string, body: unknown): unknown {
  const failure = state.failures.find((f) => f.method === method && path.includes(f.path) && f.times > 0);
  if (failure) {
    failure.times--;
    throw graphError(failure.reason, failure.code, failure.message);
  }
  const input = (body ?? {}) as Record<string, unknown>;
  const app = (id: string) => {
    const found = state.applications.find((a) => a.id === id);
    if (found === undefined) throw notFound(id);
    return found;
  };

  if (method === 'GET' && path === 'applications')
    return { value: state.applications.filter((a) => filterOf(query)(a as unknown as Record<string, unknown>)) };
  if (method === 'GET' && path === 'servicePrincipals')
    return { value: state.servicePrincipals.filter(filterOf(query)) };

  if (method === 'POST' && path === 'applications') {
    if (typeof input.displayName !== 'string') throw badRequest('displayName is required.');
    const api = (input.api ?? {}) as Partial<GraphApplication['api']>;
    const created: GraphApplication = {
      id: randomUUID(),
      appId: randomUUID(),
      displayName: input.displayName,
      signInAudience:
        typeof input.signInAudience === 'string' ? input.signInAudience : 'AzureADandPersonalMicrosoftAccount',
      identifierUris: [],
      appRoles: checkEntitlements('appRoles', [], input.appRoles ?? []),
      api: {
        requestedAccessTokenVersion: api.requestedAccessTokenVersion ?? null,
        oauth2PermissionScopes: checkEntitlements('api.oauth2PermissionScopes', [], api.oauth2PermissionScopes ?? []),
        preAuthorizedApplications: [],
      },
      spa: { redirectUris: [] },
      requiredResourceAccess: [],
    };
    state.applications.push(created);
    return created;
  }

  const patchMatch = /^applications\/([^/]+)$/.exec(path);
  if (method === 'PATCH' && patchMatch) {
    const target = app(patchMatch[1] ?? '');
    const next = structuredClone(target);
    for (const [property, value] of Object.entries(input)) {
      if (property === 'identifierUris') {
        const uris = value as string[];
        const foreign = uris.filter((uri) => !target.identifierUris.includes(uri) && uri !== `api://${target.appId}`);
        if (foreign.length > 0)
          throw graphError(
            'Bad Request',
            'HostNameNotOnVerifiedDomain',
            `Values of identifierUris property must use a verified domain of the organization or its subdomain: ${foreign.join(', ')}`,
          );
        next.identifierUris = uris;
      } else if (property === 'appRoles') next.appRoles = checkEntitlements('appRoles', target.appRoles, value);
      else if (property === 'api') {
        const api = value as GraphApplication['api'];
        next.api = {
          requestedAccessTokenVersion: api.requestedAccessTokenVersion,
          oauth2PermissionScopes: checkEntitlements(
            'api.oauth2PermissionScopes',
            target.api.oauth2PermissionScopes,
            api.oauth2PermissionScopes,
          ),
          preAuthorizedApplications: api.preAuthorizedApplications,
        };
        const scopeIds = new Set(next.api.oauth2PermissionScopes.map((s) => s.id));
        for (const pre of next.api.preAuthorizedApplications) {
          if (!state.applications.some((a) => a.appId === pre.appId))
            throw badRequest(`preAuthorizedApplications: ${pre.appId} does not reference a valid application object.`);
          if (pre.delegatedPermissionIds.some((id) => !scopeIds.has(id)))
            throw badRequest('preAuthorizedApplications: delegatedPermissionIds must name scopes of this application.');
        }
      } else if (property === 'spa') next.spa = value as GraphApplication['spa'];
      else if (property === 'requiredResourceAccess')
        next.requiredResourceAccess = value as GraphApplication['requiredResourceAccess'];
      else if (property === 'displayName') next.displayName = value as string;
      else throw badRequest(`The fake does not PATCH ${property}.`);
    }
    Object.assign(target, next);
    return undefined;
  }

  if (method === 'POST' && path === 'servicePrincipals') {
    const appId = input.appId;
    if (!state.applications.some((a) => a.appId === appId))
      throw badRequest(
        `The appId '${String(appId)}' of the service principal does not reference a valid application object.`,
      );
    if (state.servicePrincipals.some((sp) => sp.appId === appId))
      throw graphError(
        'Conflict',
        'Request_MultipleObjectsWithSameKeyValue',
        'A service principal with this appId already exists.',
      );
    const created = { id: randomUUID(), appId: appId as string };
    state.servicePrincipals.push(created);
    return created;
  }
  throw new CliFailure(`fake az rest: no fake for ${method} ${path}`, 2);
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

function az(state: CliState, args: readonly string[], record: (rest: CliCall['rest']) => void): unknown {
  const [group, command] = args;
  if (group === 'cloud' && command === 'show')
    return { name: state.cloud, endpoints: { microsoftGraphResourceId: GRAPH_ENDPOINTS[state.cloud] } };
  if (!state.signedIn) throw new CliFailure("Please run 'az login' to setup account.");
  if (group === 'account' && command === 'show') {
    const subscription = option(args, '--subscription');
    if (subscription === undefined) return { ...state.account, user: { name: 'deployer@contoso.com', type: 'user' } };
    const tenantId = state.subscriptions[subscription];
    if (tenantId === undefined)
      throw new CliFailure(`Subscription '${subscription}' not found. Check the spelling and casing and try again.`);
    return { id: subscription, tenantId, user: { name: 'deployer@contoso.com', type: 'user' } };
  }
  if (group === 'rest') {
    const method = (option(args, '--method') ?? 'GET').toUpperCase();
    const uri = option(args, '--uri') ?? '';
    const bodyArg = option(args, '--body');
    const body: unknown =
      bodyArg === undefined
        ? undefined
        : JSON.parse(bodyArg.startsWith('@') ? readFileSync(bodyArg.slice(1), 'utf8') : bodyArg);
    record(body === undefined ? { method, uri } : { method, uri, body });
    const url = new URL(uri);
    if (`${url.origin}/` !== GRAPH_ENDPOINTS[state.cloud])
      throw graphError(
        'Unauthorized',
        'InvalidAuthenticationToken',
        `Access token validation failure: ${url.origin} is not Microsoft Graph in ${state.cloud}.`,
      );
    const path = url.pathname.replace(/^\/v1\.0\//, '');
    return graph(state, method, path, url.search, body);
  }
  throw new CliFailure(`fake az: no fake for az ${args.join(' ')}`, 2);
}

/** One CLI call against the state: what the process prints, and its exit code. */
function answer(
  state: CliState,
  cli: string,
  args: readonly string[],
): { stream: 'out' | 'err'; text: string; exitCode: number } {
  let rest: CliCall['rest'];
  let result: { stream: 'out' | 'err'; text: string; exitCode: number };
  try {
    if (cli === 'azd') {
      if (args[0] !== 'env' || args[1] !== 'set' || args.length !== 4)
        throw new CliFailure(`fake azd: no fake for azd ${args.join(' ')}`, 2);
      state.azdEnv[args[2] ?? ''] = args[3] ?? '';
      result = { stream: 'out', text: '', exitCode: 0 };
    } else {
      const output = az(state, args, (r) => (rest = r));
      result = { stream: 'out', text: output === undefined ? '' : `${JSON.stringify(output, null, 2)}\n`, exitCode: 0 };
    }
  } catch (error) {
    if (!(error instanceof CliFailure)) throw error;
    result = { stream: 'err', text: `ERROR: ${error.message}\n`, exitCode: error.exitCode };
  }
  state.calls.push({
    cli: cli === 'azd' ? 'azd' : 'az',
    args,
    ...(rest === undefined ? {} : { rest }),
    exitCode: result.exitCode,
  });
  return result;
}

/**
 * The executables: bash scripts that send their name and arguments (NUL-separated) to the fake's
 * loopback port and print what it answers (`<exit code> out|err` on the first line, then the
 * output). A call costs a bash start, not a Node start.
 */
function cliScript(cli: string, port: number): string {
  return [
    '#!/bin/bash',
    `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 3`,
    `printf '%s\\0' ${cli} "$#" "$@" >&3`,
    'read -r code stream <&3',
    'if [ "$stream" = err ]; then cat <&3 >&2; else cat <&3; fi',
    'exit "$code"',
    '',
  ].join('\n');
}

/** Answers each connection: `<cli>\0<count>\0<arg>\0...`. */
function serve(state: CliState): Server {
  return createServer((socket) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const fields = received.split('\0');
      const [cli = '', count = ''] = fields;
      // The fields are complete once the last one's terminator has arrived.
      if (fields.length < 3 || fields.length - 1 < 2 + Number(count)) return;
      const { stream, text, exitCode } = answer(state, cli, fields.slice(2, 2 + Number(count)));
      socket.end(`${exitCode} ${stream}\n${text}`);
    });
    socket.on('error', () => undefined);
  });
}

export interface FakeAzureCli {
  /** PATH with `az` and `azd` first, for the process that runs them. */
  readonly env: Readonly<Record<string, string>>;
  /** A copy of the state now. */
  state(): CliState;
  update(change: (state: CliState) => void): void;
  /** Calls that changed something: Graph writes and `azd env set` that succeeded. */
  writes(): CliCall[];
  clearCalls(): void;
  close(): Promise<void>;
}

const TENANT = '72f988bf-0000-4000-8000-00000000abcd';
const SUBSCRIPTION = '00000000-0000-4000-8000-0000000000aa';

/** A signed-in az in the public cloud, one subscription in tenant `TENANT`, an empty directory. */
export async function startFakeAzureCli(initial: Partial<CliState> = {}): Promise<FakeAzureCli> {
  const state: CliState = {
    signedIn: true,
    cloud: 'AzureCloud',
    account: { id: SUBSCRIPTION, tenantId: TENANT },
    subscriptions: { [SUBSCRIPTION]: TENANT },
    applications: [],
    servicePrincipals: [],
    failures: [],
    azdEnv: {},
    calls: [],
    ...structuredClone(initial),
  };
  const server = serve(state);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const binDir = mkdtempSync(join(tmpdir(), 'fake-azure-cli-'));
  for (const cli of ['az', 'azd']) {
    writeFileSync(join(binDir, cli), cliScript(cli, port));
    chmodSync(join(binDir, cli), 0o755);
  }
  return {
    env: { PATH: `${binDir}:/usr/bin:/bin` },
    state: () => structuredClone(state),
    update: (change) => change(state),
    writes: () =>
      structuredClone(
        state.calls.filter(
          (c) => c.exitCode === 0 && (c.cli === 'azd' || (c.rest !== undefined && c.rest.method !== 'GET')),
        ),
      ),
    clearCalls: () => {
      state.calls = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        rmSync(binDir, { recursive: true, force: true });
        server.close(() => resolve());
      }),
  };
}

export const FAKE_TENANT_ID = TENANT;
export const FAKE_SUBSCRIPTION_ID = SUBSCRIPTION;
