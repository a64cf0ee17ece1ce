import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../devstack/localStack.js';

const root = repositoryRoot();
const SOURCE_FOLDERS = ['src', 'devstack', 'test', 'bench', 'sandbox', 'packages', 'scripts'];

function sourceFiles(folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, folder), { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter(
      (entry) =>
        entry.isFile() &&
        /\.(ts|mts|js|mjs)$/.test(entry.name) &&
        !entry.parentPath.includes('node_modules') &&
        !/[\\/]dist\b/.test(entry.parentPath),
    )
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every relative import of a file, resolved to a path from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1] ?? '');
  return specifiers.map((specifier) => relative(root, resolve(dirname(join(root, file)), specifier)));
}

const files = SOURCE_FOLDERS.flatMap(sourceFiles);
const topFolder = (path: string) => path.split(/[\\/]/)[0];

describe('layout: the folders depend one way', () => {
  it('finds the sources', () => {
    expect(files.filter((f) => f.startsWith('src')).length).toBeGreaterThan(20);
  });

  it('nothing outside test/ imports from test/', () => {
    const offenders = files
      .filter((f) => topFolder(f) !== 'test')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => topFolder(i) === 'test')
          .map((i) => `${f} -> ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it('nothing in src/ imports the dev stack, the sandbox, the bench or the tests', () => {
    const offenders = files
      .filter((f) => topFolder(f) === 'src')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => topFolder(i) !== 'src')
          .map((i) => `${f} -> ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it('src/ flows one way: handlers -> services -> config -> kinds -> steps', () => {
    const offenders = files
      .filter((f) => topFolder(f) === 'src')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => topFolder(i) === 'src' && !mayImport(f, i))
          .map((i) => `${f} (${tierOf(f)}) -> ${i} (${tierOf(i)})`),
      );
    expect(offenders).toEqual([]);
  });

  it('no handler imports the composition root: routes and timers receive their services', () => {
    const offenders = files
      .filter((f) => f.startsWith('src/functions/'))
      .flatMap((f) => importsOf(f).filter((i) => !i.startsWith('src/functions/') && !SHARED_BY_HANDLERS.test(i)));
    expect(offenders).toEqual([]);
  });
});

/**
 * The tiers of src/, top first. A file imports its own tier or a lower one: the entry points
 * (Azure's, the local host's) assemble the handlers (routes and timers), which sit on the services, which the composition root builds; the settings parser and the
 * API contract sit on the credential kinds; the kinds on the steps of the flow (caller
 * authentication, authorization, cache, secret source, STS, rotation) and the shared ground.
 */
const TIERS: readonly { readonly name: string; readonly test: (file: string) => boolean }[] = [
  { name: 'entry points', test: (f) => ['src/app.ts', 'src/azureFunctions.ts', 'src/main.ts'].includes(f) },
  { name: 'handlers', test: (f) => f.startsWith('src/functions/') },
  {
    name: 'services',
    test: (f) =>
      f.startsWith('src/services/') ||
      f.startsWith('src/doctor/') ||
      ['src/composition.ts', 'src/rotation/cli.ts'].includes(f),
  },
  { name: 'config', test: (f) => f.startsWith('src/config/') || f.startsWith('src/contract/') },
  { name: 'kinds', test: (f) => f.startsWith('src/kinds/') },
  { name: 'steps', test: () => true },
];

/** What a handler may import besides the services' types: the HTTP shell, logging and the contract's types. */
const SHARED_BY_HANDLERS = /^src\/(services\/|http\/|log\/|contract\/|errors\/|model\.[jt]s)/;

function tierOf(file: string): number {
  return TIERS.findIndex((tier) => tier.test(file.replaceAll('\\', '/')));
}

function mayImport(file: string, imported: string): boolean {
  return tierOf(imported) >= tierOf(file);
}
