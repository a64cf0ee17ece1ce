// The package is `"type": "module"`, so Node and TypeScript would read dist/cjs/*.js (and its
// .d.ts) as ESM; a package.json beside them says they are CommonJS.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), `${JSON.stringify({ type: 'commonjs' })}\n`);
