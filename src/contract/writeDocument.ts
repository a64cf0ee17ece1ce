import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { openApiText } from './openapi.js';

// `npm run build` runs this after tsc: the OpenAPI document as a file, for API Management imports,
// client generators and reviewers. The path is relative to the package root (npm's working directory).
const target = resolve(process.argv[2] ?? 'dist/openapi.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, openApiText());
