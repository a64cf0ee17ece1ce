import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalSettings } from '../../src/config/localSettings.js';
import { describeError } from '../../src/errors/serviceError.js';
import { consoleSink } from '../../src/log/logger.js';
import { repositoryRoot } from '../repository.js';
import { createLocalHost } from './localHost.js';
import { startScheduler } from './scheduler.js';

// `npm run serve` (and `npm run dev`, which builds first): the same functions as in Azure, from the
// same bundle (dist/bundle), on node:http. Settings come from the environment and
// local.settings.json `Values`, which become environment variables where the environment has none,
// as Core Tools does for the worker (and as the Azure SDK, reading process.env, expects).
const { values: args } = parseArgs({ options: { settings: { type: 'string', default: 'local.settings.json' } } });
const settingsPath = args.settings;

type Bundle = typeof import('../../src/app.js');
const bundlePath = join(repositoryRoot(), 'dist', 'bundle', 'app.js');
let bundle: Bundle;
try {
  bundle = (await import(bundlePath)) as Bundle;
} catch (error) {
  console.error(`Cannot start: ${bundlePath} did not load (${describeError(error)}); run npm run build:bundle`);
  process.exit(1);
}

let local: LocalSettings;
try {
  local = bundle.readLocalSettings(settingsPath);
} catch (error) {
  console.error(`Cannot start: ${describeError(error)}`);
  process.exit(1);
}
for (const [name, value] of Object.entries(local.values)) process.env[name] ??= value;

const instance = bundle.createApp(process.env);
if (instance.services.configurationError !== undefined) {
  console.error(`Cannot start: ${instance.services.configurationError.message}`);
  console.error(`Fix the settings in ${settingsPath} (Values) or the environment, then run again.`);
  process.exit(1);
}

const port = Number(process.env.PORT ?? local.port ?? 7071);
const server = createLocalHost({
  routes: instance.routes,
  app: bundle,
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
const scheduler = startScheduler({
  timers: instance.timers,
  app: bundle,
  sink: consoleSink,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    scheduler.stop();
    server.close(() => process.exit(0));
  });
}
