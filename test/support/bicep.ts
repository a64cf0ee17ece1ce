import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../../devstack/repository.js';

/**
 * The Bicep compiler the infra tests use: tools/bicep (fetched by `npm run infra:check`), else
 * `bicep` on PATH; undefined when there is neither.
 */
export function findBicepCompiler(): string | undefined {
  const fetched = join(repositoryRoot(), 'tools', 'bicep');
  if (existsSync(fetched)) return fetched;
  try {
    execFileSync('bicep', ['--version'], { stdio: 'ignore' });
    return 'bicep';
  } catch {
    return undefined;
  }
}
