/**
 * The azd preprovision hook (infra/hooks/preprovision.mjs) against a fake `az` and `azd` on PATH
 * (devstack/fakes/azureCli.ts) that keep Entra's state between runs and record every call: the
 * first run registers what is missing, the next changes nothing, and a failure says what to do.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FAKE_SUBSCRIPTION_ID,
  FAKE_TENANT_ID,
  GRAPH_ENDPOINTS,
  type CliState,
  type FakeAzureCli,
  type GraphApplication,
  startFakeAzureCli,
} from '../../devstack/fakes/azureCli.js';
import { repositoryRoot } from '../../devstack/localStack.js';

const HOOK = join(repositoryRoot(), 'infra', 'hooks', 'preprovision.mjs');

const started: FakeAzureCli[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((cli) => cli.close()));
});

async function fake(initial: Partial<CliState> = {}): Promise<FakeAzureCli> {
  const cli = await startFakeAzureCli(initial);
  started.push(cli);
  return cli;
}

interface HookRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the hook as azd does: the azd environment's values as environment variables. */
function runHook(azure: FakeAzureCli, azdEnv: Record<string, string>): Promise<HookRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [HOOK],
      { encoding: 'utf8', env: { ...azure.env, AZURE_ENV_NAME: 'tokens-dev', PREPROVISION_RETRY_DELAY_MS: '0', ...azdEnv } },
      (_error, stdout, stderr) => {
        resolve({ status: child.exitCode, stdout, stderr });
      },
    );
  });
}

/** The azd values after a run: those the run started with, and what it set. */
const afterRun = (azure: FakeAzureCli, before: Record<string, string>) => ({ ...before, ...azure.state().azdEnv });

const apiApp = (azure: FakeAzureCli): GraphApplication => {
  const app = azure.state().applications.find((a) => a.displayName === 'ai-token-vending-tokens-dev');
  if (app === undefined) throw new Error('no API app registration');
  return app;
};

const roleValues = (app: GraphApplication) => app.appRoles.map((r) => r.value);
const restCalls = (azure: FakeAzureCli) => azure.writes().flatMap((c) => (c.rest ? [`${c.rest.method} ${new URL(c.rest.uri).pathname}`] : []));

describe('preprovision hook: the Entra app registration, created then left alone', () => {
  it('first run: registers the API (identifier URI, Tokens.Request, the roles, v2 tokens) and its service principal, and sets the azd values', async () => {
    const azure = await fake();
    const run = await runHook(azure, {});
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);

    const app = apiApp(azure);
    expect(app.signInAudience).toBe('AzureADMyOrg');
    expect(app.identifierUris).toEqual([`api://${app.appId}`]);
    expect(app.api.requestedAccessTokenVersion).toBe(2);
    expect(app.api.oauth2PermissionScopes.map((s) => [s.value, s.type, s.isEnabled])).toEqual([['Tokens.Request', 'User', true]]);
    // The default resource's role and the operator role, for users and apps alike.
    expect(roleValues(app)).toEqual(['Speech.Token', 'TokenVending.Operator']);
    for (const role of app.appRoles) expect(role).toMatchObject({ allowedMemberTypes: ['User', 'Application'], isEnabled: true });
    expect(azure.state().servicePrincipals.map((sp) => sp.appId)).toEqual([app.appId]);

    expect(restCalls(azure)).toEqual(['POST /v1.0/applications', `PATCH /v1.0/applications/${app.id}`, 'POST /v1.0/servicePrincipals']);
    expect(azure.state().azdEnv).toEqual({
      AUTH_API_APP_ID: app.appId,
      AUTH_TENANT_ID: FAKE_TENANT_ID,
      AUTH_AUDIENCES: `api://${app.appId},${app.appId}`,
      AUTH_API_SCOPE: `api://${app.appId}/Tokens.Request`,
    });
  });

  it('second run: reads, writes nothing to Entra and sets no azd value', async () => {
    const azure = await fake();
    expect((await runHook(azure, {})).status).toBe(0);
    const env = afterRun(azure, {});
    const before = azure.state().applications;
    azure.clearCalls();

    const run = await runHook(azure, env);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(azure.writes()).toEqual([]);
    expect(azure.state().applications).toEqual(before);
    expect(azure.state().calls.length).toBeGreaterThan(0);
  });

  it('a resource with a new role: that role is added, the others keep their ids; a role no longer listed stays', async () => {
    const azure = await fake();
    const resources = (roles: string[]) =>
      JSON.stringify(roles.map((role, i) => ({ name: `r${i}`, kind: 'speech', region: 'westeurope', allowedRoles: [role], allowedScopes: [] })));
    expect((await runHook(azure, { AI_RESOURCES: resources(['Speech.Token']) })).status).toBe(0);
    const first = apiApp(azure).appRoles;
    const env = afterRun(azure, { AI_RESOURCES: resources(['Translator.Token']) });
    azure.clearCalls();

    expect((await runHook(azure, env)).status).toBe(0);
    const app = apiApp(azure);
    expect(roleValues(app)).toEqual(['Speech.Token', 'TokenVending.Operator', 'Translator.Token']);
    expect(app.appRoles.slice(0, 2)).toEqual(first);
    expect(restCalls(azure)).toEqual([`PATCH /v1.0/applications/${app.id}`]);
    expect(azure.writes().filter((c) => c.cli === 'azd')).toEqual([]);
  });

  it('OPERATOR_ROLES names the operator roles', async () => {
    const azure = await fake();
    expect((await runHook(azure, { OPERATOR_ROLES: 'Ops.Read, Ops.Admin' })).status).toBe(0);
    expect(roleValues(apiApp(azure))).toEqual(['Speech.Token', 'Ops.Read', 'Ops.Admin']);
  });

  it('without its azd values (a new clone): finds the registration by name and reuses it', async () => {
    const azure = await fake();
    expect((await runHook(azure, {})).status).toBe(0);
    const { appId } = apiApp(azure);
    azure.update((s) => {
      s.calls = [];
      s.azdEnv = {};
    });

    const run = await runHook(azure, {});
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`reusing the app registration ai-token-vending-tokens-dev (${appId})`);
    expect(restCalls(azure)).toEqual([]);
    expect(azure.state().applications).toHaveLength(1);
    expect(azure.state().azdEnv.AUTH_API_APP_ID).toBe(appId);
  });

  it('AUTH_API_APP_ID names an existing registration: it is completed, its own identifier URIs kept among the audiences', async () => {
    const existing = fakeApplication('contoso-tokens', 'api://contoso.com/tokens');
    const azure = await fake({ applications: [existing] });
    const run = await runHook(azure, { AUTH_API_APP_ID: existing.appId });
    expect(run.stderr).toBe('');
    const app = azure.state().applications[0]!;
    expect(app.identifierUris).toEqual(['api://contoso.com/tokens', `api://${existing.appId}`]);
    expect(azure.state().azdEnv.AUTH_AUDIENCES).toBe(`api://contoso.com/tokens,api://${existing.appId},${existing.appId}`);
    // Reused, not re-created: its token version is its owner's choice.
    expect(app.api.requestedAccessTokenVersion).toBeNull();
  });

  it('AUTH_AUDIENCES set by hand (no AUTH_API_APP_ID): the registration is yours, az is not even asked', async () => {
    const azure = await fake();
    const run = await runHook(azure, { AUTH_AUDIENCES: 'api://mine' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('the app registration is yours');
    expect(azure.state().calls).toEqual([]);
  });

  it('in Azure China and US Government, Graph is that cloud\'s', async () => {
    for (const cloud of ['AzureChinaCloud', 'AzureUSGovernment'] as const) {
      const azure = await fake({ cloud });
      expect((await runHook(azure, {})).status).toBe(0);
      const uris = azure.state().calls.flatMap((c) => (c.rest ? [c.rest.uri] : []));
      expect(uris.length).toBeGreaterThan(0);
      for (const uri of uris) expect(uri.startsWith(`${GRAPH_ENDPOINTS[cloud]}v1.0/`), uri).toBe(true);
    }
  });

  it('a write Graph has not replicated yet is retried', async () => {
    const azure = await fake({
      failures: [
        { method: 'PATCH', path: 'applications/', reason: 'Not Found', code: 'Request_ResourceNotFound', message: 'Resource does not exist.', times: 2 },
      ],
    });
    const run = await runHook(azure, {});
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const patches = azure.state().calls.filter((c) => c.rest?.method === 'PATCH');
    expect(patches.map((c) => c.exitCode)).toEqual([1, 1, 0]);
    expect(roleValues(apiApp(azure))).toEqual(['Speech.Token', 'TokenVending.Operator']);
  });
});

describe('preprovision hook: a single-page app and CORS', () => {
  const SPA = { SPA_REDIRECT_URIS: 'https://app.contoso.com/, http://localhost:5173/auth' };

  it('registers the SPA with its redirect URIs and Tokens.Request, pre-authorized by the API; CORS follows its origins', async () => {
    const azure = await fake();
    const run = await runHook(azure, SPA);
    expect(run.stderr).toBe('');
    const api = apiApp(azure);
    const spa = azure.state().applications.find((a) => a.displayName === 'ai-token-vending-tokens-dev-spa')!;
    const scopeId = api.api.oauth2PermissionScopes[0]!.id;
    expect(spa.spa.redirectUris).toEqual(['https://app.contoso.com/', 'http://localhost:5173/auth']);
    expect(spa.requiredResourceAccess).toEqual([{ resourceAppId: api.appId, resourceAccess: [{ id: scopeId, type: 'Scope' }] }]);
    expect(api.api.preAuthorizedApplications).toEqual([{ appId: spa.appId, delegatedPermissionIds: [scopeId] }]);
    expect(azure.state().servicePrincipals.map((sp) => sp.appId).sort()).toEqual([api.appId, spa.appId].sort());
    expect(azure.state().azdEnv).toMatchObject({
      AUTH_SPA_CLIENT_ID: spa.appId,
      CORS_ALLOWED_ORIGINS: '["https://app.contoso.com","http://localhost:5173"]',
    });

    const env = afterRun(azure, SPA);
    azure.clearCalls();
    expect((await runHook(azure, env)).status).toBe(0);
    expect(azure.writes()).toEqual([]);
  });

  it('CORS_ALLOWED_ORIGINS as a comma-separated list becomes the JSON array the Bicep takes; a JSON array is kept', async () => {
    const azure = await fake();
    expect((await runHook(azure, { AUTH_AUDIENCES: 'api://mine', CORS_ALLOWED_ORIGINS: 'https://a.contoso.com, https://b.contoso.com' })).status).toBe(0);
    expect(azure.state().azdEnv).toEqual({ CORS_ALLOWED_ORIGINS: '["https://a.contoso.com","https://b.contoso.com"]' });
    azure.clearCalls();
    expect((await runHook(azure, { AUTH_AUDIENCES: 'api://mine', CORS_ALLOWED_ORIGINS: '["https://a.contoso.com"]' })).status).toBe(0);
    expect(azure.writes()).toEqual([]);
  });
});

describe('preprovision hook: refusals say what to do, and change nothing', () => {
  async function refused(azure: FakeAzureCli, env: Record<string, string>, message: RegExp) {
    const run = await runHook(azure, env);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('    at ');
    expect(azure.writes()).toEqual([]);
  }

  it('no az on PATH: where to get it, and the way around', async () => {
    await refused(await fake(), { PATH: '/nonexistent' }, /the Azure CLI \(az\) is not on PATH: install it.*set AUTH_AUDIENCES/);
  });

  it('az not signed in: run az login (azd auth login does not sign az in)', async () => {
    await refused(await fake({ signedIn: false }), {}, /Azure CLI is not signed in.*Run az login.*azd auth login does not sign az in/);
  });

  it('az signed in to another tenant than AUTH_TENANT_ID or the subscription azd deploys to', async () => {
    const other = '11111111-2222-4333-8444-555555555555';
    await refused(await fake(), { AUTH_TENANT_ID: other }, new RegExp(`signed in to tenant ${FAKE_TENANT_ID}.*belongs in ${other} \\(AUTH_TENANT_ID\\).*az login --tenant ${other}`));
    const subscription = '99999999-0000-4000-8000-000000000099';
    await refused(
      await fake({ subscriptions: { [FAKE_SUBSCRIPTION_ID]: FAKE_TENANT_ID, [subscription]: other } }),
      { AZURE_SUBSCRIPTION_ID: subscription },
      new RegExp(`the tenant of AZURE_SUBSCRIPTION_ID ${subscription}.*az account set --subscription ${subscription}`),
    );
  });

  it('no right to register applications: who can help, and the way around', async () => {
    const denied = { reason: 'Forbidden', code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.', times: 1 };
    await refused(await fake({ failures: [{ method: 'POST', path: 'applications', ...denied }] }), {}, /may not register applications.*Application Developer.*set AUTH_AUDIENCES/);
  });

  it('AUTH_API_APP_ID that this tenant does not have', async () => {
    await refused(await fake(), { AUTH_API_APP_ID: '0a0a0a0a-0000-4000-8000-000000000000' }, /no app registration with that client ID.*azd env set AUTH_API_APP_ID ""/);
  });

  it('two registrations with the environment\'s name', async () => {
    const apps = [fakeApplication('ai-token-vending-tokens-dev'), fakeApplication('ai-token-vending-tokens-dev')];
    await refused(await fake({ applications: apps }), {}, new RegExp(`2 app registrations are named ai-token-vending-tokens-dev \\(${apps[0]!.appId}, ${apps[1]!.appId}\\): set AUTH_API_APP_ID`));
  });

  it('AI_RESOURCES that is not a JSON array, and a redirect URI that is neither https nor localhost', async () => {
    await refused(await fake(), { AI_RESOURCES: "[{name: 'speech'}]" }, /AI_RESOURCES is not JSON.*azd env set AI_RESOURCES/);
    await refused(await fake(), { AI_RESOURCES: '{"name":"speech"}' }, /AI_RESOURCES must be a JSON array/);
    await refused(await fake(), { SPA_REDIRECT_URIS: 'http://app.contoso.com/' }, /must be https \(Entra allows http for localhost only\)/);
  });
});

function fakeApplication(displayName: string, identifierUri?: string): GraphApplication {
  return {
    id: crypto.randomUUID(),
    appId: crypto.randomUUID(),
    displayName,
    signInAudience: 'AzureADMyOrg',
    identifierUris: identifierUri === undefined ? [] : [identifierUri],
    appRoles: [],
    api: { requestedAccessTokenVersion: null, oauth2PermissionScopes: [], preAuthorizedApplications: [] },
    spa: { redirectUris: [] },
    requiredResourceAccess: [],
  };
}
