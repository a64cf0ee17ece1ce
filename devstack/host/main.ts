import { parseArgs } from 'node:util';
import { readLocalSettings } from '../../src/config/localSettings.js';
import { describeError } from '../../src/errors.js';
import { createRoutes } from '../../src/functions/routes.js';
import { consoleSink } from '../../src/log/logger.js';
import { createRuntime } from '../../src/runtime.js';
import { createLocalHost } from './localHost.js';

// `npm run dev`: the same functions as in Azure, on node:http, with settings from the environment
// and local.settings.json (the environment wins, as with Core Tools).
const { values: args } = parseArgs({ options: { settings: { type: 'string', default: 'local.settings.json' } } });
const settingsPath = args.settings;

let local;
try {
  local = readLocalSettings(settingsPath);
} catch (error) {
  console.error(`Cannot start: ${describeError(error)}`);
  process.exit(1);
}

const env = { ...local.values, ...process.env };
const runtime = createRuntime(env);
if (!runtime.ok) {
  console.error(`Cannot start: ${runtime.error.message}`);
  console.error(`Fix the settings in ${settingsPath} (Values) or the environment, then run again.`);
  process.exit(1);
}

const port = Number(process.env.PORT ?? local.port ?? 7071);
const server = createLocalHost({
  routes: createRoutes(() => runtime),
  corsOrigins: local.corsOrigins,
  corsCredentials: local.corsCredentials,
  sink: consoleSink,
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.log(
    JSON.stringify({ level: 'info', event: 'listening', url: `http://127.0.0.1:${bound}/api`, settings: settingsPath }),
  );
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
