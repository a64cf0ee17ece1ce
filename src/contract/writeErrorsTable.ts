import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withErrorsTable } from './errorsTable.js';

// `npm run docs:errors`: rewrites the errors table of the docs page it is given from the catalog.
const target = resolve(process.argv[2] ?? 'docs/api.md');
writeFileSync(target, withErrorsTable(readFileSync(target, 'utf8')));
