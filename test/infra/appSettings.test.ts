import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_SETTING_NAMES, RESOURCE_FIELDS } from '../../src/config/settings.js';
import { repositoryRoot } from '../support/localStack.js';

const root = repositoryRoot();

/** Settings the platform needs that the code does not read. */
const PLATFORM_SETTINGS = /^(AzureWebJobsStorage__\w+|APPLICATIONINSIGHTS_\w+|AZURE_CLIENT_ID|FUNCTIONS_\w+)$/;
/** Optional in the code, with a default per cloud, so the Bicep may leave it out. */
const OPTIONAL_SETTINGS = new Set(['AUTH_AUTHORITY_HOST']);

function bicepCompiler(): string[] | undefined {
  const local = join(root, 'tools', 'bicep');
  if (existsSync(local)) return [local];
  try {
    execFileSync('bicep', ['--version'], { stdio: 'ignore' });
    return ['bicep'];
  } catch {
    return undefined;
  }
}

interface Template {
  resources: Record<string, { type: string; properties: Record<string, unknown> }>;
}

function compile(): Template {
  const compiler = bicepCompiler();
  if (compiler === undefined) {
    throw new Error('No Bicep compiler: run `npm run infra:check` first (it fetches one into tools/).');
  }
  const [command, ...args] = compiler;
  return JSON.parse(execFileSync(command!, [...args, 'build', join(root, 'infra', 'main.bicep'), '--stdout'], { encoding: 'utf8' })) as Template;
}

/** The keys of every createObject('key', value, …) call in an ARM expression. */
function createObjectKeys(expression: string): string[] {
  const keys: string[] = [];
  let at = expression.indexOf('createObject(');
  while (at !== -1) {
    const args: string[] = [];
    let depth = 0;
    let current = '';
    let quoted = false;
    for (let i = at + 'createObject('.length; i < expression.length; i++) {
      const ch = expression[i]!;
      if (ch === "'") quoted = !quoted;
      if (!quoted && ch === '(') depth++;
      if (!quoted && ch === ')') {
        if (depth === 0) break;
        depth--;
      }
      if (!quoted && depth === 0 && ch === ',') {
        args.push(current.trim());
        current = '';
      } else current += ch;
    }
    args.push(current.trim());
    args.forEach((arg, index) => {
      if (index % 2 === 0) keys.push(arg.replace(/^'|'$/g, ''));
    });
    at = expression.indexOf('createObject(', at + 1);
  }
  return keys;
}

describe('infra/main.bicep and the code agree', () => {
  const template = compile();
  const api = template.resources.api!;
  const parameters = api.properties.parameters as Record<string, { value?: Record<string, string>; copy?: Array<{ input: string }> }>;
  const nested = (api.properties.template as Template).resources;
  const config = Object.values(nested).find((r) => r.type === 'Microsoft.Web/sites/config')!;

  it('writes exactly the settings the code reads (and platform settings)', () => {
    const written = [
      ...Object.keys(parameters.appSettings?.value ?? {}),
      ...createObjectKeys(JSON.stringify(config.properties)),
    ];
    const appSettings = written.filter((name) => !PLATFORM_SETTINGS.test(name));
    const read: readonly string[] = APP_SETTING_NAMES;
    expect(appSettings.filter((name) => !read.includes(name))).toEqual([]);
    expect(read.filter((name) => !OPTIONAL_SETTINGS.has(name) && !appSettings.includes(name))).toEqual([]);
  });

  it('builds TOKEN_RESOURCES items with the fields the code accepts, and every required one', () => {
    const item = parameters.tokenResources?.copy?.[0]?.input ?? '';
    const keys = createObjectKeys(item);
    expect(keys.filter((key) => !(RESOURCE_FIELDS as readonly string[]).includes(key))).toEqual([]);
    expect([...RESOURCE_FIELDS].sort()).toEqual([...new Set(keys)].sort());
  });
});
