import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../devstack/repository.js';

/**
 * Tests spawn the built host, doctor, rotation CLI and sandbox, and serve the built demo page. Each
 * build step runs only when what it is built from changed since this setup last ran it (or a step
 * it depends on ran), so `vitest run test/one.test.ts` after an edit to a test builds nothing,
 * and a clean clone builds everything once.
 */
interface BuildStep {
  readonly script: string;
  /** Files and folders (searched recursively) the step is built from. */
  readonly inputs: readonly string[];
  /** Steps whose output this one reads: when one of them ran, this one runs too. */
  readonly after: readonly string[];
  /**
   * A file the step writes: missing, the step runs; written after the step's stamp (by
   * `npm run bench` or `npm run dev`, which build outside this setup), the steps after it run.
   */
  readonly output: string;
}

const STEPS: readonly BuildStep[] = [
  {
    script: 'build:client',
    inputs: ['packages/client/src', 'packages/client/package.json', 'packages/client/tsconfig.json'],
    after: [],
    output: 'packages/client/dist/esm/index.js',
  },
  {
    script: 'build:app',
    inputs: ['src', 'devstack', 'bench', 'sandbox', 'tsconfig.json'],
    after: ['build:client'],
    output: 'dist/src/app.js',
  },
  { script: 'build:bundle', inputs: ['src', 'scripts/bundle.mjs'], after: [], output: 'dist/bundle/main.js' },
  { script: 'build:openapi', inputs: [], after: ['build:app', 'build:bundle'], output: 'dist/bundle/openapi.json' },
  {
    script: 'build:demo',
    inputs: ['sandbox/demo', 'scripts/build-demo.mjs'],
    after: ['build:client'],
    output: 'sandbox/demo/dist/index.html',
  },
];

/** Everything any step depends on beside its own inputs. */
const SHARED_INPUTS = ['package.json', 'package-lock.json'];
/**
 * Never inputs when found inside an input folder: build output, installed packages, and the demo
 * page (`sandbox/demo`, the demo step's own input, which its install changes).
 */
const SKIPPED = new Set(['node_modules', 'dist', 'demo']);

const root = repositoryRoot();

function newestChange(path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  // Files only: a folder's own time changes whenever an entry is added, e.g. by an install.
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (!SKIPPED.has(entry.name)) newest = Math.max(newest, newestChange(join(path, entry.name)));
  }
  return newest;
}

export default function build(): void {
  const stamps = join(root, 'dist', '.stamps');
  const shared = Math.max(...SHARED_INPUTS.map((input) => newestChange(join(root, input))));
  const ran = new Set<string>();
  for (const step of STEPS) {
    const stamp = join(stamps, step.script.replace(':', '-'));
    const builtAt = newestChange(stamp);
    const output = join(root, step.output);
    const writtenAt = newestChange(output);
    const changed = Math.max(shared, ...step.inputs.map((input) => newestChange(join(root, input))));
    if (builtAt !== 0 && writtenAt !== 0 && changed < builtAt && !step.after.some((before) => ran.has(before))) {
      if (String(writtenAt) !== readFileSync(stamp, 'utf8')) {
        // Built outside this setup since: up to date, but what reads its output is not.
        stampStep(stamp, new Date(builtAt), writtenAt);
        ran.add(step.script);
      }
      continue;
    }
    // Stamped with the time it started: an edit made while it runs is seen by the next run.
    const started = new Date();
    execFileSync('npm', ['run', '--silent', step.script], { cwd: root, stdio: 'inherit' });
    stampStep(stamp, started, 0);
    ran.add(step.script);
  }
  // Outputs as this setup leaves them (the demo's pack rebuilds the client package's).
  for (const step of STEPS) {
    const stamp = join(stamps, step.script.replace(':', '-'));
    stampStep(stamp, new Date(newestChange(stamp)), newestChange(join(root, step.output)));
  }
}

/** The stamp's time is when the step last started; it holds the time its output was written. */
function stampStep(stamp: string, startedAt: Date, writtenAt: number): void {
  mkdirSync(join(stamp, '..'), { recursive: true });
  writeFileSync(stamp, String(writtenAt));
  utimesSync(stamp, startedAt, startedAt);
}
