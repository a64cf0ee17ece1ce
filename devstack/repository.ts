import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from either the TypeScript source or its compiled copy under dist/. */
export function repositoryRoot(): string {
  let directory = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) directory = dirname(directory);
  return directory;
}
