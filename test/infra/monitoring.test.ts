/**
 * The alert rules and the workbook query the names the code emits, and nothing else: every metric,
 * event, span, dimension and value a query names is in src/telemetry/names.ts (whose metrics the
 * export test proves arrive at ingestion), and every event it reads is logged somewhere in src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/repository.js';
import {
  DIMENSION_VALUES,
  EVENT_FIELDS,
  EVENT_NAMES,
  EVENTS,
  METRIC_DEFINITIONS,
  METRIC_NAMES,
  NO_CODE,
  OUTCOMES,
  SPAN_ATTRIBUTES,
  STATUS_CLASSES,
  UPSTREAMS,
} from '../../src/telemetry/names.js';

const root = repositoryRoot();
const infra = join(root, 'infra');
const alertsDir = join(infra, 'monitoring', 'alerts');

interface Query {
  readonly where: string;
  readonly text: string;
}

function alertQueries(): Query[] {
  return readdirSync(alertsDir)
    .filter((f) => f.endsWith('.kql'))
    .map((f) => ({ where: `alerts/${f}`, text: readFileSync(join(alertsDir, f), 'utf8') }));
}

function workbookQueries(): Query[] {
  const workbook = JSON.parse(readFileSync(join(infra, 'monitoring', 'workbook.json'), 'utf8')) as {
    items: { name: string; content: { query?: string } }[];
  };
  return workbook.items.flatMap((item) =>
    item.content.query === undefined ? [] : [{ where: `workbook ${item.name}`, text: item.content.query }],
  );
}

/** The query without `//` comments (their prose may quote anything). */
const code = (text: string) => text.replace(/\/\/.*$/gm, '');
const literals = (text: string) => [...code(text).matchAll(/'([^']*)'/g)].map((m) => m[1]!);
const listAfter = (text: string, pattern: RegExp) =>
  [...code(text).matchAll(pattern)].flatMap((m) => [...m[1]!.matchAll(/'([^']*)'/g)].map((l) => l[1]!));

const METRIC_DIMENSIONS = new Set(Object.values(METRIC_DEFINITIONS).flatMap((d) => [...d.dimensions]));
const KNOWN: ReadonlySet<string> = new Set<string>([
  ...METRIC_NAMES,
  ...EVENT_NAMES,
  ...UPSTREAMS,
  ...STATUS_CLASSES,
  ...OUTCOMES,
  ...Object.values(DIMENSION_VALUES).flat(),
  NO_CODE,
  ...METRIC_DIMENSIONS,
  ...SPAN_ATTRIBUTES,
  ...EVENT_FIELDS,
  ' ', // a separator for strcat_array
]);

const queries = [...alertQueries(), ...workbookQueries()];

describe('monitoring queries (infra/monitoring) and the names the code emits', () => {
  it('finds the six alert queries and the workbook queries', () => {
    expect(alertQueries().map((q) => q.where).sort()).toEqual([
      'alerts/fallback-in-use.kql',
      'alerts/key-rejected.kql',
      'alerts/openai-throttled.kql',
      'alerts/resource-unhealthy.kql',
      'alerts/rotation-failed.kql',
      'alerts/token-failures.kql',
      'alerts/upstream-unreachable.kql',
    ]);
    expect(workbookQueries().length).toBeGreaterThanOrEqual(5);
  });

  it('every alert query is a rule in alerts.bicep, and every rule loads one', () => {
    const bicep = readFileSync(join(infra, 'modules', 'alerts.bicep'), 'utf8');
    const loaded = [...bicep.matchAll(/loadTextContent\('\.\.\/monitoring\/(alerts\/[^']+)'\)/g)].map((m) => m[1]!);
    expect(loaded.sort()).toEqual(alertQueries().map((q) => q.where).sort());
  });

  it.each(queries.map((q) => [q.where, q] as const))('%s names only what the code emits', (_, query) => {
    const unknown = literals(query.text).filter((l) => !KNOWN.has(l));
    expect(unknown, `literals in ${query.where} that src/telemetry/names.ts does not define`).toEqual([]);

    const tables = [...code(query.text).matchAll(/^\s*\(?\s*(\w+)\s*$/gm)].map((m) => m[1]!);
    for (const table of tables) expect(['customMetrics', 'dependencies', 'traces', 'union']).toContain(table);

    const named = listAfter(query.text, /\bname\s*(?:==|in)\s*\(?((?:\s*'[^']*'\s*,?)+)\)?/g);
    const allowed: readonly string[] = /^\s*dependencies/m.test(code(query.text)) ? UPSTREAMS : METRIC_NAMES;
    expect(named.filter((n) => !allowed.includes(n)), `${query.where}: metric or span names`).toEqual([]);

    const keys = [...code(query.text).matchAll(/customDimensions\['([^']+)'\]/g)].map((m) => m[1]!);
    for (const key of keys) expect([...METRIC_DIMENSIONS, ...SPAN_ATTRIBUTES]).toContain(key);

    const events = [
      ...listAfter(query.text, /\['event'\]\)\s*==\s*('[^']*')/g),
      ...listAfter(query.text, /message has ('[^']*')/g),
    ];
    for (const event of events) expect(EVENT_NAMES, query.where).toContain(event);
  });

  it('the rotation-failed alert reads every rotation event that needs a person: failures and an unfinished --leaked', () => {
    const query = alertQueries().find((q) => q.where === 'alerts/rotation-failed.kql');
    const events = listAfter(query?.text ?? '', /\['event'\]\)\s*==\s*('[^']*')/g);
    expect(events.sort()).toEqual([EVENTS.keyRotationFailed, EVENTS.keyRotationIncomplete].sort());
  });

  it('every event a query reads is logged by the code (through EVENTS)', () => {
    const read = new Set(queries.flatMap((q) => listAfter(q.text, /\['event'\]\)\s*==\s*('[^']*')/g)));
    expect(read.size).toBeGreaterThanOrEqual(2);
    const sources = readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && e.name !== 'names.ts')
      .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
      .join('\n');
    for (const event of read) {
      const key = Object.entries(EVENTS).find(([, name]) => name === event)?.[0];
      expect(sources, event).toMatch(new RegExp(`logger\\.(?:info|warn|error)\\(EVENTS\\.${key}\\b`));
    }
  });
});
