import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/localStack.js';
import { openApiText } from '../../src/contract/openapi.js';

/**
 * Azure builds what azd uploads (azure.yaml `remoteBuild: true`): the files .funcignore lets through,
 * then `npm install` and `npm run build` on the platform. This builds that subset the same way
 * (node_modules linked rather than installed) and looks at what the function app would serve.
 */
const root = repositoryRoot();
let packageDirectory: string;

/** The files of the working tree that azd would upload: not ignored by .gitignore, nor by .funcignore. */
function uploadedFiles(): string[] {
  const git = (args: string[], input?: string) =>
    spawnSync('git', args, { cwd: root, encoding: 'utf8', ...(input === undefined ? {} : { input }) }).stdout;
  const files = git(['ls-files', '--cached', '--others', '--exclude-standard', '-z'])
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)));
  const funcignored = new Set(
    git(
      ['-c', `core.excludesFile=${join(root, '.funcignore')}`, 'check-ignore', '--no-index', '--stdin', '-z'],
      files.join('\0'),
    )
      .split('\0')
      .filter(Boolean),
  );
  return files.filter((file) => !funcignored.has(file));
}

beforeAll(() => {
  packageDirectory = mkdtempSync(join(tmpdir(), 'function-package-'));
  for (const file of uploadedFiles()) {
    mkdirSync(dirname(join(packageDirectory, file)), { recursive: true });
    cpSync(join(root, file), join(packageDirectory, file));
  }
  symlinkSync(join(root, 'node_modules'), join(packageDirectory, 'node_modules'), 'dir');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: packageDirectory, stdio: 'pipe' });
}, 120_000);

afterAll(() => {
  rmSync(packageDirectory, { recursive: true, force: true });
});

describe('the deployment package', () => {
  it('leaves the tests and the dev tools out, and builds openapi.json from what it has', () => {
    expect(existsSync(join(packageDirectory, 'test'))).toBe(false);
    expect(existsSync(join(packageDirectory, 'src', 'contract', 'openapi.ts'))).toBe(true);
    expect(readFileSync(join(packageDirectory, 'dist', 'openapi.json'), 'utf8')).toBe(openApiText());
  });

  it('serves the same document from its built functions', async () => {
    const built = join(packageDirectory, 'dist', 'src', 'functions', 'openapi.js');
    const { openApiHandler } = (await import(
      pathToFileURL(built).href
    )) as typeof import('../../src/functions/openapi.js');
    const response = await openApiHandler()(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/openapi.json' }),
      new InvocationContext({ invocationId: 'b7a1c2d3-0000-4000-8000-000000000002', logHandler: () => undefined }),
    );
    expect(response.status).toBe(200);
    expect(response.body).toBe(openApiText());
  });
});
