// npm run build:bundle: the app as Azure loads it, one ESM bundle with no node_modules beside it.
// Two entries share their code chunks: dist/bundle/main.js (package.json `main`, which registers
// the functions with the Functions worker) and dist/bundle/app.js (what the local host loads).
// Code the first request needs only later (Key Vault, @azure/identity) is split into chunks
// loaded on first use, so importing `main` stays small. Minified (source maps keep stack traces
// pointing at src/): less to parse on every cold start.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });

/**
 * zod's classic API re-exports every message locale (some 350 KiB), which the app never uses:
 * messages stay English. Parsing them would cost every cold start; only `en` is kept.
 */
const englishOnlyZodLocales = {
  name: 'english-only-zod-locales',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
    }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts', app: 'src/app.ts' },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: true,
  // Maps are read as each chunk loads; without the sources embedded they are a fraction of the size.
  sourcesContent: false,
  minify: true,
  // Names stay readable in logs and stack traces even without the source map.
  keepNames: true,
  metafile: true,
  // The Functions worker supplies this module through CommonJS require at run time
  // (Azure/azure-functions-nodejs-library#201); it is never on disk.
  external: ['@azure/functions-core'],
  // Bundled CommonJS code calls require(); ESM has none. Without it @azure/functions falls back to
  // its test mode silently and registers nothing.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  plugins: [englishOnlyZodLocales],
  logLevel: 'warning',
});

const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(
  `build:bundle: dist/bundle (${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB of JavaScript)`,
);
