import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/repository.js';

const run = promisify(execFile);

// scripts/cli.mjs, what `npm run doctor` and `npm run rotate` start, in a tree of its own: a
// script, a src/ and (or not) a build.
let tree: string;
beforeEach(() => {
  tree = mkdtempSync(join(tmpdir(), 'cli-'));
  mkdirSync(join(tree, 'scripts'));
  mkdirSync(join(tree, 'src'));
  copyFileSync(join(repositoryRoot(), 'scripts', 'cli.mjs'), join(tree, 'scripts', 'cli.mjs'));
  writeFileSync(join(tree, 'src', 'model.ts'), 'export {};\n');
});
afterEach(() => rmSync(tree, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(tree, 'scripts', 'cli.mjs'), ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function build(at: Date): void {
  mkdirSync(join(tree, 'dist', 'src', 'doctor'), { recursive: true });
  const entry = join(tree, 'dist', 'src', 'doctor', 'cli.js');
  writeFileSync(entry, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
  utimesSync(entry, at, at);
}

describe('the CLIs run from the last build', () => {
  it('with no build, says what to run and exits 2', async () => {
    const result = await cli('doctor', '--json');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'npm run doctor runs from the last build, and there is none (dist/src/doctor/cli.js)',
    );
  });

  it('runs the build with the options it was given, silently while it is fresh', async () => {
    utimesSync(join(tree, 'src', 'model.ts'), new Date(2026, 0, 1), new Date(2026, 0, 1));
    build(new Date(2026, 0, 2));
    const result = await cli('doctor', '--json', '--locate');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['--json', '--locate']);
    expect(result.stderr).toBe('');
  });

  it('says when src/ changed since the build, and runs the build', async () => {
    build(new Date(2026, 0, 1));
    const result = await cli('doctor', '--help');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['--help']);
    expect(result.stderr).toContain('note: src/model.ts changed since the last build; running the last build.');
  });
});
