import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../devstack/localStack.js';

// One Node major everywhere: the tests, the scripts, the bundle and Azure. npm scripts put
// node_modules/.bin first on PATH, where the `node` devDependency (the official binary, shipped
// through the npm registry) sits, so `npm test`, `npm run ...` and `.ci/run` run on it whatever
// `node` the machine has.
const root = repositoryRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const packageJson = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = read('.nvmrc').trim();

describe('toolchain: one Node major', () => {
  it('.nvmrc names a major', () => {
    expect(major).toMatch(/^\d+$/);
  });

  it('the suite runs on it', () => {
    expect(
      process.versions.node.split('.')[0],
      `vitest runs on Node ${process.version} (${process.execPath}); run it through npm (npm test, npx vitest) so node_modules/.bin/node comes first, or \`nvm use\``,
    ).toBe(major);
  });

  it('the node devDependency, @types/node and engines name it', () => {
    expect(packageJson.devDependencies.node?.split('.')[0]).toBe(major);
    expect(packageJson.devDependencies['@types/node']?.split('.')[0]).toBe(major);
    expect(packageJson.engines.node).toBe(`>=${major}`);
  });

  it('the bundle targets it and Azure runs it', () => {
    expect(read('scripts/bundle.mjs')).toContain(`target: 'node${major}'`);
    expect(read('infra/modules/functionApp.bicep')).toContain(`runtime: { name: 'node', version: '${major}' }`);
  });
});
