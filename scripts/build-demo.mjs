// npm run build:demo: the demo page built the way a frontend app uses the client. Pack
// packages/client into a tarball, install that tarball and MSAL.js (@azure/msal-browser, the
// version the root's @azure/identity already brought into npm's cache, so no download is needed)
// into sandbox/demo, and bundle the page with Vite into sandbox/demo/dist, which the sandbox
// serves. Installing the tarball, not the workspace link, proves what `files` and `exports` publish.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = join(root, 'sandbox', 'demo');
const packDir = join(root, 'dist', 'pack');
// The name sandbox/demo/package.json depends on; without the version, so a bump needs no edit there.
const tarball = join(packDir, 'ai-token-vending-client.tgz');
const installed = join(demo, 'node_modules', '@ai-token-vending', 'client');

// A deployment upload leaves sandbox/ out (.funcignore) and still runs `npm run build`.
if (!existsSync(join(demo, 'package.json'))) {
  console.log('build:demo: no sandbox/demo here (a deployment upload leaves it out); nothing to build.');
  process.exit(0);
}

function npm(args, cwd) {
  // The npm that runs this script, not whichever is first on PATH.
  const [command, prefix] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const result = spawnSync(command, [...prefix, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) {
    // A lifecycle script's output (prepack's tsc errors) lands on stdout, which is captured.
    process.stderr.write(result.stdout);
    throw new Error(
      `npm ${args.join(' ')} failed (exit ${result.status ?? result.signal}) in ${relative(root, cwd) || '.'}`,
    );
  }
  return result.stdout;
}

// prepack builds packages/client/dist first, so the tarball never holds a stale build.
rmSync(packDir, { recursive: true, force: true });
mkdirSync(packDir, { recursive: true });
const [packed] = JSON.parse(
  npm(['pack', '--workspace', 'packages/client', '--pack-destination', packDir, '--json', '--silent'], root),
);
renameSync(join(packDir, packed.filename), tarball);

// A fresh node_modules every time: npm would keep an old copy of a tarball whose version did not change.
rmSync(join(demo, 'node_modules'), { recursive: true, force: true });
npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], demo);
if (!existsSync(installed) || lstatSync(installed).isSymbolicLink()) {
  throw new Error(`${relative(root, installed)} is not an installed copy of the tarball`);
}
const version = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version;

const { build } = await import('vite');
await build({
  root: demo,
  configFile: false,
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true },
});
console.log(
  `build:demo: sandbox/demo/dist built with @ai-token-vending/client ${version} from ${relative(root, tarball)} (${packed.files.length} files, ${packed.size} bytes).`,
);
