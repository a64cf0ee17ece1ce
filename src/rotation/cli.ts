import { parseArgs } from 'node:util';
import { composeParts } from '../composition.js';
import { readLocalSettings } from '../config/localSettings.js';
import { ConfigurationError, loadConfig } from '../config/settings.js';
import { describeError } from '../errors/serviceError.js';
import { Logger } from '../log/logger.js';
import { logValue } from '../log/logValue.js';
import { canonicalResourceName, type Config } from '../model.js';
import type { RotationMode, RotationOutcome } from './keyRotation.js';

// `npm run rotate -- [--resource NAME] [--now | --leaked] [--dry-run] [--json]`: rotate the keys
// that are due (or at once), with the settings the service reads. Exit 0 when nothing failed,
// 1 when a rotation failed, 2 when it could not start (arguments, settings).
let args;
try {
  args = parseArgs({
    options: {
      resource: { type: 'string' },
      now: { type: 'boolean', default: false },
      leaked: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      settings: { type: 'string', default: 'local.settings.json' },
    },
  }).values;
} catch (error) {
  stop(`${describeError(error)}\nUsage: npm run rotate -- [--resource NAME] [--now | --leaked] [--dry-run] [--json]`);
}
if (args.now && args.leaked) stop('--now and --leaked exclude each other: --leaked rotates at once, and more.');

let values: Readonly<Record<string, string>> = {};
try {
  values = readLocalSettings(args.settings).values;
} catch (error) {
  stop(`Cannot read settings: ${describeError(error)}`);
}
let config: Config;
try {
  config = loadConfig({ ...values, ...process.env });
} catch (error) {
  if (error instanceof ConfigurationError) stop(`Cannot rotate: ${error.message}`);
  throw error;
}
const named = args.resource;
if (
  named !== undefined &&
  !config.resources.some((r) => canonicalResourceName(r.name) === canonicalResourceName(named))
)
  stop(
    `No resource "${named}" in TOKEN_RESOURCES; the resources are ${config.resources.map((r) => r.name).join(', ')}.`,
  );

// Log lines go to stderr: stdout carries the table or the JSON array alone.
const parts = composeParts(config, {
  logger: new Logger((_level, line) => process.stderr.write(`${line}\n`)),
});
const mode: RotationMode = args.leaked ? 'leaked' : args.now ? 'now' : 'due';
const outcomes = await parts.rotation.run({
  mode,
  dryRun: args['dry-run'],
  ...(named === undefined ? {} : { resource: named }),
});

if (args.json) process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
else process.stdout.write(formatTable(outcomes));
process.exit(outcomes.some((o) => o.action === 'failed') ? 1 : 0);

function stop(message: string): never {
  console.error(message);
  process.exit(2);
}

/** Details quote upstream messages; a terminal would obey control sequences in them, so they are escaped. */
function formatTable(outcomes: readonly RotationOutcome[]): string {
  if (outcomes.length === 0) return 'No resource has a resourceId: nothing to rotate.\n';
  const width = Math.max(8, ...outcomes.map((o) => o.resource.length));
  const lines = [
    `${'resource'.padEnd(width)}  ${'result'.padEnd(40)}  detail`,
    `${'-'.repeat(width)}  ${'-'.repeat(40)}  ${'-'.repeat(40)}`,
  ];
  for (const outcome of outcomes) {
    const result =
      outcome.action === 'failed'
        ? `FAILED ${outcome.code ?? ''}`
        : `${outcome.action}${outcome.keyName === undefined ? '' : ` (${outcome.keyName})`}`;
    lines.push(
      `${outcome.resource.padEnd(width)}  ${result.padEnd(40)}  ${logValue(outcome.reason ?? outcome.detail ?? '')}`,
    );
    if (outcome.fix !== undefined) lines.push(`${''.padEnd(width)}  ${''.padEnd(40)}  fix: ${logValue(outcome.fix)}`);
  }
  const failed = outcomes.filter((o) => o.action === 'failed').length;
  lines.push(
    '',
    failed === 0 ? `Nothing failed (${outcomes.length} resources).` : `${failed} of ${outcomes.length} failed.`,
  );
  return `${lines.join('\n')}\n`;
}
