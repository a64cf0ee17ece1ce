import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { composeParts } from '../composition.js';
import { readLocalSettings } from '../config/localSettings.js';
import { ConfigurationError, loadConfig } from '../config/settings.js';
import { describeError } from '../errors/serviceError.js';
import { Logger } from '../log/logger.js';
import { logValue } from '../log/logValue.js';
import { allMembers, canonicalResourceName, type Config } from '../model.js';
import type { RotationMode, RotationOutcome } from './keyRotation.js';

// `npm run rotate -- [--resource NAME] [--now | --leaked | --repair] [--dry-run] [--json]`: rotate
// the keys that are due (or at once), or put a secret right, with the settings the service reads.
// Exit 0 when nothing failed, 1 when a rotation failed, 2 when it could not start (arguments,
// settings), 3 when another rotator held the lease of a resource (nothing changed there).
const USAGE = `Usage: npm run rotate -- [--resource NAME] [--now | --leaked | --repair] [--dry-run] [--json] [--settings FILE]

Rotates the keys of the resources in TOKEN_RESOURCES that have a resourceId: the ones that are due
(KEY_ROTATION_DAYS), or at once.

  --resource NAME   only this resource
  --now             rotate at once, as far as no instance can still hold the key regenerated
  --leaked          the key in use may have leaked: rotate at once, then regenerate it too
  --repair          rotate nothing: put the secret right (a dead key, an unfinished --leaked)
  --dry-run         read and decide, change nothing (results would_rotate, would_repair)
  --json            the outcomes as a JSON array on stdout (log lines go to stderr)
  --settings FILE   the settings file to read beside the environment (default local.settings.json)
  --help            this text

Exit code: 0 nothing failed, 1 a rotation failed, 2 it could not start, 3 another rotator held a lease.`;
let args;
try {
  args = parseArgs({
    options: {
      resource: { type: 'string' },
      now: { type: 'boolean', default: false },
      leaked: { type: 'boolean', default: false },
      repair: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      settings: { type: 'string', default: 'local.settings.json' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  stop(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.now && args.leaked) stop('--now and --leaked exclude each other: --leaked rotates at once, and more.');
if (args.repair && (args.now || args.leaked))
  stop(
    '--repair rotates nothing: it puts the secret right (a dead key, an unfinished --leaked). Run it alone, then --now or --leaked.',
  );

let values: Readonly<Record<string, string>> = {};
try {
  values = readLocalSettings(args.settings).values;
} catch (error) {
  stop(`Cannot read settings: ${describeError(error)}`);
}
let config: Config;
try {
  // Rotation serves no caller: the caller-authentication settings are not asked for.
  config = loadConfig({ ...values, ...process.env }, undefined, { callers: false });
} catch (error) {
  if (error instanceof ConfigurationError) stop(`Cannot rotate: ${error.message}`);
  throw error;
}
const named = args.resource;
if (
  named !== undefined &&
  !allMembers(config.resources).some((r) => canonicalResourceName(r.name) === canonicalResourceName(named))
)
  stop(
    `No resource "${named}" in TOKEN_RESOURCES; the resources are ${allMembers(config.resources)
      .map((r) => r.name)
      .join(', ')}.`,
  );

// Log lines go to stderr, stdout carries the table or the JSON array alone. With the table they are
// kept until it is written and then follow it, so the two never interleave on a terminal.
const held: string[] = [];
const parts = composeParts(config, {
  logger: new Logger((_level, line) => {
    if (args.json) process.stderr.write(`${line}\n`);
    else held.push(line);
  }),
});
const mode: RotationMode = args.repair ? 'repair' : args.leaked ? 'leaked' : args.now ? 'now' : 'due';
const outcomes = await parts.rotation.run({
  mode,
  dryRun: args['dry-run'],
  // What another rotator is told while this one holds the lease.
  holder: `npm run rotate on host ${hostname()} pid ${process.pid}`,
  ...(named === undefined ? {} : { resource: named }),
});

if (args.json) process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
else {
  process.stdout.write(formatTable(outcomes));
  if (held.length > 0) process.stderr.write(`\nLog (JSON lines, as the timer writes them):\n${held.join('\n')}\n`);
}
process.exit(
  outcomes.some((o) => o.action === 'failed') ? 1 : outcomes.some((o) => o.code === 'rotation_lease_held') ? 3 : 0,
);

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
        : outcome.code === 'rotation_lease_held'
          ? `BUSY ${outcome.code}`
          : `${outcome.action.replace('_', ' ')}${outcome.keyName === undefined ? '' : ` (${outcome.keyName})`}`;
    lines.push(
      `${outcome.resource.padEnd(width)}  ${result.padEnd(40)}  ${logValue(outcome.reason ?? outcome.detail ?? '')}`,
    );
    if (outcome.fix !== undefined) lines.push(`${''.padEnd(width)}  ${''.padEnd(40)}  fix: ${logValue(outcome.fix)}`);
  }
  const failed = outcomes.filter((o) => o.action === 'failed').length;
  const busy = outcomes.filter((o) => o.code === 'rotation_lease_held').length;
  lines.push(
    '',
    failed === 0 ? `Nothing failed (${outcomes.length} resources).` : `${failed} of ${outcomes.length} failed.`,
    ...(busy === 0 ? [] : [`${busy} left alone: another rotator holds the lease (exit code 3).`]),
  );
  return `${lines.join('\n')}\n`;
}
