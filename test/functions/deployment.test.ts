import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/repository.js';
import { openApiText } from '../../src/contract/openapi.js';

const root = repositoryRoot();
const fakeWorker = join(dirname(fileURLToPath(import.meta.url)), 'fakeWorker.cjs');

function filesUnder(directory: string): string[] {
  return readdirSync(join(root, directory), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** The files `.funcignore` lets into the deployment package, asked of git's own matcher. */
function packageFiles(): string[] {
  const candidates = [
    ...readdirSync(root).filter((name) => statSync(join(root, name)).isFile()),
    ...filesUnder('dist'),
  ];
  const scratch = mkdtempSync(join(tmpdir(), 'funcignore-'));
  try {
    execFileSync('git', ['init', '-q'], { cwd: scratch });
    const verdicts = execFileSync(
      'git',
      ['-c', `core.excludesFile=${join(root, '.funcignore')}`, 'check-ignore', '--no-index', '--stdin', '-v', '-n'],
      { cwd: scratch, input: candidates.join('\n'), encoding: 'utf8' },
    );
    // `-v -n` prints every path: "::" for no match, a "!" pattern for one let back in.
    return verdicts
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([source = '']) => source === '::' || source.split(':').slice(2).join(':').startsWith('!'))
      .map(([, path = '']) => path);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

let deployed: string;
let files: string[];
beforeAll(() => {
  files = packageFiles();
  deployed = mkdtempSync(join(tmpdir(), 'deployed-'));
  for (const file of files) {
    mkdirSync(dirname(join(deployed, file)), { recursive: true });
    cpSync(join(root, file), join(deployed, file));
  }
});
afterAll(() => {
  rmSync(deployed, { recursive: true, force: true });
});

describe('the deployment package', () => {
  it('holds the bundle, its source maps, host.json and package.json, and nothing else', () => {
    expect(files).toContain('host.json');
    expect(files).toContain('package.json');
    const main = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string }).main;
    expect(files).toContain(main);
    expect(files).toContain(`${main}.map`);
    expect(files.filter((f) => !f.startsWith('dist/bundle/') && f !== 'host.json' && f !== 'package.json')).toEqual([]);
    expect(files.some((f) => f.includes('node_modules'))).toBe(false);
    // The contract ships with the code it describes.
    expect(readFileSync(join(root, 'dist', 'bundle', 'openapi.json'), 'utf8')).toBe(openApiText());
    expect(files).toContain('dist/bundle/openapi.json');
  });

  it('registers every route with the Functions worker, with no node_modules beside it', () => {
    const main = (JSON.parse(readFileSync(join(deployed, 'package.json'), 'utf8')) as { main: string }).main;
    const result = spawnSync(process.execPath, [fakeWorker], {
      cwd: deployed,
      env: { PATH: process.env.PATH, FAKE_WORKER_MAIN: join(deployed, main) },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.stderr).not.toMatch(/did not load/);
    expect(result.status).toBe(0);
    const registered = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
      programmingModel: string;
      functions: {
        name: string;
        bindings: Record<string, { type: string; route?: string; methods?: string[]; authLevel?: string }>;
      }[];
      sourceMapsEnabled: boolean;
    };
    expect(registered.programmingModel).toMatch(/^@azure\/functions@4\./);
    const triggers = registered.functions.map(({ name, bindings }) => {
      const trigger = Object.values(bindings).find((b) => b.type === 'httpTrigger');
      return { name, route: trigger?.route, methods: trigger?.methods, authLevel: trigger?.authLevel };
    });
    expect(triggers).toEqual([
      { name: 'token', route: 'token/{resource}', methods: ['GET', 'POST'], authLevel: 'anonymous' },
      { name: 'resources', route: 'resources', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'health', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'status', route: 'status', methods: ['GET'], authLevel: 'anonymous' },
      {
        name: 'openapi',
        route: 'openapi.json',
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        authLevel: 'anonymous',
      },
    ]);
    // Unconfigured here: the problems are logged, the routes still register (and answer 503).
    expect(result.stderr).toContain('"event":"configuration_invalid"');
    expect(registered.sourceMapsEnabled).toBe(true);
  });

  it('maps stack traces to the TypeScript sources', () => {
    const bad = join(deployed, 'bad.settings.json');
    writeFileSync(bad, '{ not json');
    const script = `const app = await import(${JSON.stringify(join(deployed, 'dist', 'bundle', 'app.js'))});
      try { app.readLocalSettings(${JSON.stringify(bad)}); } catch (error) { process.stdout.write(error.stack); }`;
    const result = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.stdout).toContain('is not valid JSON');
    expect(result.stdout).toMatch(/src\/config\/localSettings\.ts:\d+:\d+/);
  });
});
