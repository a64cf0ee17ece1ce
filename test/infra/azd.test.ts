/**
 * What azd reads and writes: every parameter of infra/main.bicep has an azd variable in
 * main.parameters.json (lists too, as JSON), whose default is the Bicep's alone; the outputs carry
 * the azd Functions templates' names; azure.yaml runs the preprovision hook on every platform;
 * the hook's default roles are the Bicep's defaults; docs/deploy.md names every variable.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startFakeAzureCli } from '../../devstack/fakes/azureCli.js';
import { repositoryRoot } from '../../devstack/localStack.js';
import { findBicepCompiler } from '../support/bicep.js';

const root = repositoryRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const compiler = findBicepCompiler();

interface Template {
  parameters: Record<string, { type: string; defaultValue?: unknown }>;
  outputs: Record<string, unknown>;
}
let template: Template = { parameters: {}, outputs: {} };
beforeAll(() => {
  if (compiler !== undefined)
    template = JSON.parse(execFileSync(compiler, ['build', join(root, 'infra', 'main.bicep'), '--stdout'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Template;
});

const parametersFile = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> };

/** azd's own variables; every other parameter's variable is its name in UPPER_SNAKE_CASE. */
const AZD_VARIABLES: Record<string, string> = {
  environmentName: 'AZURE_ENV_NAME',
  location: 'AZURE_LOCATION',
  principalId: 'AZURE_PRINCIPAL_ID',
  // Named before this rule (docs/realtime.md).
  realtimeDeploymentName: 'REALTIME_DEPLOYMENT',
};
const variableOf = (parameter: string) => AZD_VARIABLES[parameter] ?? parameter.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
/** Evaluated at deployment time; setting it would break the rotation tags' meaning. */
const NOT_A_VARIABLE = new Set(['deploymentTime']);

/** Variables the preprovision hook reads or writes that are not parameters. */
const HOOK_VARIABLES = ['AUTH_API_APP_ID', 'AUTH_API_SCOPE', 'AUTH_SPA_CLIENT_ID', 'SPA_REDIRECT_URIS'];

describe.skipIf(compiler === undefined)('main.parameters.json: an azd variable for every parameter', () => {
  it('each parameter but deploymentTime is exactly ${VARIABLE}, lists included, with no default of its own', () => {
    const expected = Object.fromEntries(
      Object.keys(template.parameters)
        .filter((name) => !NOT_A_VARIABLE.has(name))
        .map((name) => [name, { value: `\${${variableOf(name)}}` }]),
    );
    expect(parametersFile.parameters).toEqual(expected);
    // The lists the issue named.
    expect(expected.corsAllowedOrigins).toEqual({ value: '${CORS_ALLOWED_ORIGINS}' });
    expect(expected.aiResources).toEqual({ value: '${AI_RESOURCES}' });
    expect(Object.keys(template.parameters).filter((name) => template.parameters[name]!.type === 'array')).toEqual([
      'corsAllowedOrigins',
      'aiResources',
      'keyVaultAllowedIpRanges',
    ]);
  });

  it('only authAudiences has no default, and the preprovision hook sets it', () => {
    const required = Object.keys(template.parameters).filter((name) => template.parameters[name]!.defaultValue === undefined);
    expect(required).toEqual(['environmentName', 'location', 'authAudiences']);
  });

  it('outputs: the azd Functions templates\' names', () => {
    expect(Object.keys(template.outputs)).toEqual(
      expect.arrayContaining(['AZURE_FUNCTION_NAME', 'SERVICE_API_NAME', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'AZURE_LOCATION', 'AZURE_TENANT_ID']),
    );
    expect(template.outputs).not.toHaveProperty('AZURE_FUNCTION_APP_NAME');
  });

  it('the hook creates exactly the roles of the Bicep defaults (aiResources, realtimeAllowedRoles, operatorRoles) when none is set', async () => {
    const defaults = (name: string) => template.parameters[name]!.defaultValue;
    const resourceRoles = (defaults('aiResources') as { allowedRoles: string[] }[]).flatMap((r) => r.allowedRoles);
    const realtimeRoles = String(defaults('realtimeAllowedRoles')).split(',');
    const operatorRoles = String(defaults('operatorRoles')).split(',');
    for (const [realtime, expected] of [
      [{}, [...resourceRoles, ...operatorRoles]],
      [{ REALTIME_ENABLED: 'true' }, [...resourceRoles, ...realtimeRoles, ...operatorRoles]],
    ] as const) {
      const azure = await startFakeAzureCli();
      try {
        const run = await promisify(execFile)(process.execPath, [join(root, 'infra', 'hooks', 'preprovision.mjs')], {
          encoding: 'utf8',
          env: { ...azure.env, AZURE_ENV_NAME: 'defaults', ...realtime },
        });
        expect(run.stderr).toBe('');
        expect(azure.state().applications[0]!.appRoles.map((r) => r.value)).toEqual(expected);
      } finally {
        await azure.close();
      }
    }
  });
});

describe('azure.yaml and the docs', () => {
  it('runs the preprovision hook with Node on Linux, macOS and Windows, and asks for an azd that passes JSON lists', () => {
    const yaml = read('azure.yaml');
    const runs = [...yaml.matchAll(/^\s+(posix|windows):\n\s+shell: (\w+)\n\s+run: (.+)$/gm)].map((m) => [m[1], m[2], m[3]]);
    expect(runs).toEqual([
      ['posix', 'sh', 'node infra/hooks/preprovision.mjs'],
      ['windows', 'pwsh', 'node infra/hooks/preprovision.mjs'],
    ]);
    expect(yaml).toMatch(/^hooks:\n(?:\s+#.*\n)*\s+preprovision:/m);
    expect(yaml).toContain("azd: '>= 1.23.5'");
  });

  it('docs/deploy.md names every azd variable', () => {
    const doc = read('docs/deploy.md');
    const variables = [
      ...Object.values(parametersFile.parameters).map(({ value }) => /^\$\{(\w+)\}$/.exec(String(value))?.[1] ?? String(value)),
      ...HOOK_VARIABLES,
    ];
    expect(variables.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });
});
