// npm run doctor / npm run rotate: the CLIs run from the last build (dist/src/), so they start at
// once instead of after a compile of the whole tree. When that build is missing this says what to
// run; when src/ changed since, it says so and runs the last build anyway.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = { doctor: 'dist/src/doctor/cli.js', rotate: 'dist/src/rotation/cli.js' };
const [name, ...args] = process.argv.slice(2);
const entry = ENTRIES[name];
if (entry === undefined) {
  console.error(`usage: node scripts/cli.mjs ${Object.keys(ENTRIES).join('|')} [options]`);
  process.exit(2);
}
const path = join(root, entry);
if (!existsSync(path)) {
  console.error(
    `npm run ${name} runs from the last build, and there is none (${entry}): run \`npm run build\` once, then run it again.`,
  );
  process.exit(2);
}

/** The newest .ts file under `folder`, as [time, path]. */
function newest(folder) {
  let found = [0, ''];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const at = join(folder, entry.name);
    const candidate = entry.isDirectory()
      ? newest(at)
      : entry.name.endsWith('.ts')
        ? [statSync(at).mtimeMs, at]
        : found;
    if (candidate[0] > found[0]) found = candidate;
  }
  return found;
}
const [changedAt, changed] = newest(join(root, 'src'));
if (changedAt > statSync(path).mtimeMs)
  console.error(
    `note: ${relative(root, changed)} changed since the last build; running the last build. \`npm run build:app\` picks up the change.`,
  );

process.argv = [process.argv[0], path, ...args];
await import(pathToFileURL(path).href);
