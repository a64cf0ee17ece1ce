import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/localStack.js';

/**
 * The package as an app installs it: the tarball `npm run build:demo` packed (the test setup
 * builds it), unpacked into an app's node_modules. Loaded both ways, type-checked both ways.
 */
const tarball = join(repositoryRoot(), 'dist', 'pack', 'ai-token-vending-client.tgz');
let app: string;
let installed: string;

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'client-package-'));
  installed = join(app, 'node_modules', '@ai-token-vending', 'client');
  mkdirSync(installed, { recursive: true });
  await promisify(execFile)('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
});
afterAll(() => {
  rmSync(app, { recursive: true, force: true });
});

function packedFiles(): string[] {
  return readdirSync(installed, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(installed, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

// One scenario in each module system: the exports, then a token through a provider (so every
// internal require/import of the build resolves), then the error type.
const SCENARIO = `
const fetch = async () => new Response(JSON.stringify({ accessToken: 'ai-token', tokenType: 'Bearer',
  expiresOn: new Date(Date.now() + 600000).toISOString(), expiresInSeconds: 600, resource: 'speech',
  kind: 'speech', cloud: 'AzureCloud', region: 'westeurope', endpoints: {} }), { status: 200 });
const provider = client.createTokenProvider({ baseUrl: 'https://func.example', resource: 'speech',
  getAccessToken: () => 'entra', fetch });
const events = [];
provider.subscribe((event) => events.push(event.type));
provider.getToken().then((token) => {
  const error = new client.TokenVendingError('forbidden', 'no');
  console.log(JSON.stringify({ exports: Object.keys(client).filter((k) => k !== 'default' && k !== '__esModule').sort(),
    token: token.accessToken, events, error: [error instanceof Error, error.name, error.code] }));
});
`;

async function run(file: string, source: string): Promise<unknown> {
  writeFileSync(join(app, file), source);
  const { stdout } = await promisify(execFile)(process.execPath, [join(app, file)], { cwd: app });
  return JSON.parse(stdout);
}

describe('the packed client package', () => {
  it('loads with require() (CommonJS: Jest, older Metro) and with import, alike', async () => {
    const required = await run('probe.cjs', `const client = require('@ai-token-vending/client');\n${SCENARIO}`);
    const imported = await run('probe.mjs', `import * as client from '@ai-token-vending/client';\n${SCENARIO}`);
    expect(required).toEqual(imported);
    expect(imported).toMatchObject({
      token: 'ai-token',
      events: ['token'],
      error: [true, 'TokenVendingError', 'forbidden'],
    });
    expect((imported as { exports: string[] }).exports).toEqual(
      expect.arrayContaining(['createTokenProvider', 'createSpeechConfig', 'keepFresh', 'parseVendedToken']),
    );
  });

  it(
    'type-checks from CommonJS and ESM TypeScript, under nodenext, bundler and node10 resolution',
    { timeout: 60_000 },
    () => {
      const consumer = `
      const provider = createTokenProvider({ baseUrl: '', resource: 'speech', getAccessToken: () => 'entra' });
      provider.subscribe((event: TokenProviderEvent) => {
        if (event.type === 'retrying') console.log(event.delaySeconds.toFixed(0));
      });
      export const token: Promise<VendedToken> = provider.getToken();
      export const failed = (error: unknown) => error instanceof TokenVendingError && error.code;
    `;
      const named = `{ createTokenProvider, TokenVendingError, type TokenProviderEvent, type VendedToken }`;
      writeFileSync(join(app, 'consumer.cts'), `import ${named} from '@ai-token-vending/client';\n${consumer}`);
      writeFileSync(join(app, 'consumer.mts'), `import ${named} from '@ai-token-vending/client';\n${consumer}`);
      writeFileSync(join(app, 'consumer.ts'), `import ${named} from '@ai-token-vending/client';\n${consumer}`);
      const settings: [string, ts.CompilerOptions][] = [
        ['nodenext', { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }],
        ['bundler', { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }],
        ['node10', { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 }],
      ];
      const problems: string[] = [];
      for (const [name, options] of settings) {
        const files = name === 'nodenext' ? ['consumer.cts', 'consumer.mts'] : ['consumer.ts'];
        const program = ts.createProgram(
          files.map((file) => join(app, file)),
          { ...options, strict: true, noEmit: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] },
        );
        for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
          problems.push(`${name}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it('ships what its source maps point at, so debuggers and "go to definition" reach the TypeScript', () => {
    const files = new Set(packedFiles());
    const maps = [...files].filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const target = posix.normalize(posix.join(posix.dirname(map), source));
        if (!files.has(target)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
    expect(files.has('src/tokenProvider.ts')).toBe(true);
    // only the build, the sources and the docs: no build state, no tests
    expect([...files].filter((file) => !/^(dist\/(esm|cjs)\/|src\/|README\.md$|package\.json$)/.test(file))).toEqual(
      [],
    );
    expect([...files].some((file) => file.includes('tsbuildinfo'))).toBe(false);
    expect(JSON.parse(readFileSync(join(installed, 'dist', 'cjs', 'package.json'), 'utf8'))).toEqual({
      type: 'commonjs',
    });
  });
});
