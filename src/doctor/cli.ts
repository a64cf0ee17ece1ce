import { describeError } from '../errors/serviceError.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readLocalSettings } from '../config/localSettings.js';
import { logValue } from '../log/logValue.js';
import { diagnose, type Finding } from './diagnose.js';

// `npm run doctor -- [--json] [--locate [--all-clouds]] [--settings FILE]`: name the cause of a
// failing exchange before a user sees it. Exit 0 when every check passes, 1 when one fails, 2 when
// it could not run (arguments, settings file).
const USAGE = `Usage: npm run doctor -- [--json] [--locate [--all-clouds]] [--token TOKEN|-] [--settings FILE]

Checks that callers can sign in, then each resource in TOKEN_RESOURCES end to end: Key Vault, the
key's shape, the exchange at its token service, the service the token opens, and key rotation.

  --json            the findings as a JSON array on stdout (npm run --silent doctor -- --json)
  --locate          for a rejected key, find which region of its cloud accepts it (the key is sent to them)
  --all-clouds      with --locate, the other clouds' regions too (Azure China is another operator)
  --token TOKEN     also judge a caller's access token as the service would ("-": read it from stdin)
  --settings FILE   the settings file to read beside the environment (default local.settings.json)
  --help            this text

Exit code: 0 every check passes, 1 a check fails, 2 the doctor could not run.`;

let args;
try {
  args = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      locate: { type: 'boolean', default: false },
      'all-clouds': { type: 'boolean', default: false },
      token: { type: 'string' },
      settings: { type: 'string', default: 'local.settings.json' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args['all-clouds'] && !args.locate) {
  console.error('--all-clouds widens --locate to every cloud: give both (npm run doctor -- --locate --all-clouds).');
  process.exit(2);
}

let values: Readonly<Record<string, string>> = {};
try {
  values = readLocalSettings(args.settings).values;
} catch (error) {
  console.error(`Cannot read settings: ${describeError(error)}`);
  process.exit(2);
}
const callerToken = args.token === '-' ? readFileSync(0, 'utf8') : args.token;
const findings = await diagnose(
  { ...values, ...process.env },
  {},
  {
    locate: args.locate,
    locateAllClouds: args['all-clouds'],
    ...(callerToken === undefined ? {} : { callerToken }),
  },
);

if (args.json) {
  process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
} else {
  process.stdout.write(formatTable(findings));
}
process.exit(findings.length > 0 && findings.every((f) => f.ok) ? 0 : 1);

/** Details quote upstream messages; a terminal would obey control sequences in them, so they are escaped. */
function formatTable(findings: readonly Finding[]): string {
  const lines: string[] = [];
  const width = Math.max(8, ...findings.map((f) => f.resource.length));
  lines.push(`${'resource'.padEnd(width)}  ${'result'.padEnd(32)}  detail`);
  lines.push(`${'-'.repeat(width)}  ${'-'.repeat(32)}  ${'-'.repeat(40)}`);
  for (const finding of findings) {
    lines.push(
      `${finding.resource.padEnd(width)}  ${(finding.ok ? 'ok' : `FAIL ${finding.cause}`).padEnd(32)}  ${logValue(finding.detail)}`,
    );
    if (finding.foundAt)
      lines.push(`${''.padEnd(width)}  ${''.padEnd(32)}  found at: ${finding.foundAt.cloud} ${finding.foundAt.region}`);
    if (finding.fix) lines.push(`${''.padEnd(width)}  ${''.padEnd(32)}  fix: ${logValue(finding.fix)}`);
    for (const warning of finding.warnings ?? []) {
      lines.push(`${''.padEnd(width)}  ${''.padEnd(32)}  warning: ${logValue(warning)}`);
    }
  }
  const failures = findings.filter((f) => !f.ok).length;
  lines.push(
    '',
    failures === 0 ? `All ${findings.length} checks pass.` : `${failures} of ${findings.length} checks failing.`,
  );
  return `${lines.join('\n')}\n`;
}
