/**
 * `loadConfig`: the app settings, validated all at once into a `Config` (`model.ts`). Each concern
 * has its own reader (caller authentication, resources, rotation, operations, telemetry), all
 * writing to one `SettingsReport`; a resource's kind-specific fields are read by its kind module.
 */
import { parseOrigin } from '../http/urls.js';
import { BUILT_IN_KINDS, KindRegistry } from '../kinds/registry.js';
import { allMembers, type Config } from '../model.js';
import { APP_SETTING_NAMES, PLATFORM_SETTING_NAMES, settingReader, type Environment } from './appSettings.js';
import { noCallers, readCallerAuth, readIdentity } from './callerAuthSettings.js';
import { readOperations, readRateLimit } from './operationsSettings.js';
import { ConfigurationError, SettingsReport, type ConfigProblem } from './problems.js';
import { readResources, resourceFields } from './resourceSettings.js';
import { readRotation, readSecretMaxAgeMinutes } from './rotationSettings.js';
import { readTelemetrySettings } from './telemetrySettings.js';

export { APP_SETTING_NAMES, type Environment } from './appSettings.js';
export { DEFAULT_SELF_CHECK_SCHEDULE } from './operationsSettings.js';
export { ConfigurationError, formatProblem, type ConfigProblem } from './problems.js';
export { DEFAULT_KEY_ROTATION_SCHEDULE } from './rotationSettings.js';

/** Every field a `TOKEN_RESOURCES` item may have with the built-in kinds; the Bicep is tested against it. */
export const RESOURCE_FIELDS = resourceFields(new KindRegistry(BUILT_IN_KINDS).fields);

/** What the settings are read for. */
export interface LoadOptions {
  /**
   * Whether callers are served (the service, the doctor), so the caller-authentication settings
   * are required. `false` for a tool that serves no caller (`npm run rotate`): they are not read,
   * and `Config.auth` names no tenant or audience. Default `true`.
   */
  readonly callers?: boolean;
}

/**
 * The validated settings. Throws `ConfigurationError` listing every problem, each naming its
 * setting; never echoes a value that could be secret. `kinds`: the credential kinds resources may
 * name (default: the built-in ones).
 */
export function loadConfig(
  env: Environment,
  kinds: KindRegistry = new KindRegistry(),
  options: LoadOptions = {},
): Config {
  const report = new SettingsReport();
  const setting = settingReader(env);

  const resources = readResources(setting('TOKEN_RESOURCES'), kinds, report);
  const auth = options.callers === false ? noCallers(resources) : readCallerAuth(setting, report, resources);

  let keyVaultUri = '';
  const vault = setting('KEY_VAULT_URI');
  if (vault === undefined)
    report.problem('KEY_VAULT_URI', 'is required: the vault URI, e.g. https://my-vault.vault.azure.net');
  else {
    const checked = parseOrigin(vault);
    if (!checked.ok) report.problem('KEY_VAULT_URI', checked.problem);
    else if (!checked.origin.startsWith('https:'))
      report.problem('KEY_VAULT_URI', 'must use https, even on loopback (the Key Vault client refuses plain http)');
    else keyVaultUri = checked.origin;
  }

  const rateLimitPerMinute = readRateLimit(setting, report);
  const secretMaxAgeMinutes = readSecretMaxAgeMinutes(setting, report);
  const rotation = readRotation(
    setting,
    report,
    allMembers(resources),
    secretMaxAgeMinutes,
    auth?.cloud ?? 'AzureCloud',
  );
  const operations = readOperations(setting, report);
  const identity = readIdentity(setting, report);

  if (report.problems.length > 0 || auth === undefined) throw new ConfigurationError(inSettingOrder(report.problems));
  return {
    auth,
    identity,
    keyVaultUri,
    resources,
    rateLimitPerMinute,
    secretMaxAgeMs: secretMaxAgeMinutes * 60_000,
    rotation,
    operations,
    telemetry: readTelemetrySettings(
      setting('APPLICATIONINSIGHTS_CONNECTION_STRING'),
      setting('APPLICATIONINSIGHTS_AUTHENTICATION_STRING'),
      setting('OTEL_METRIC_EXPORT_INTERVAL'),
    ),
    warnings: report.warnings,
  };
}

const SETTING_ORDER: readonly string[] = [...APP_SETTING_NAMES, ...PLATFORM_SETTING_NAMES];

/** Problems in the order of the settings table (each setting's own in the order found). */
function inSettingOrder(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => SETTING_ORDER.indexOf(a.setting) - SETTING_ORDER.indexOf(b.setting));
}
