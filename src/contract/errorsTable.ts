import { ERROR_CATALOG, type ErrorCatalog } from '../errors/catalog.js';

/** The markers around the generated table in `docs/api.md`. */
export const ERRORS_TABLE_START = '<!-- errors table: generated from src/errors/catalog.ts by npm run docs:errors -->';
export const ERRORS_TABLE_END = '<!-- end of errors table -->';

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The docs' errors table, a row per code of the catalog, by status then catalog order. */
export function errorsTable(catalog: ErrorCatalog = ERROR_CATALOG): string {
  const rows = Object.entries(catalog)
    .map(([code, entry], index) => ({ code, entry, index }))
    .sort((a, b) => a.entry.status - b.entry.status || a.index - b.index)
    .map(
      ({ code, entry }) =>
        `| ${entry.status} | \`${code}\` | ${cell(entry.meaning)} | ${cell(entry.action)} | ${entry.retryable ? 'yes' : 'no'} |`,
    );
  return ['| status | code | meaning | what to do | retry |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** `text` with the region between the markers replaced by the current table; throws when a marker is missing. */
export function withErrorsTable(text: string, catalog: ErrorCatalog = ERROR_CATALOG): string {
  const start = text.indexOf(ERRORS_TABLE_START);
  const end = text.indexOf(ERRORS_TABLE_END);
  if (start === -1 || end < start) throw new Error(`the errors table markers are missing: ${ERRORS_TABLE_START}`);
  return `${text.slice(0, start + ERRORS_TABLE_START.length)}\n${errorsTable(catalog)}\n${text.slice(end)}`;
}
