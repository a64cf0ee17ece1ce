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
});
