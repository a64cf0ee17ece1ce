/** Every app setting the code reads; the Bicep in infra/ is tested against this list. */
export const APP_SETTING_NAMES = [
  'AUTH_TENANT_ID',
  'AUTH_AUDIENCES',
  'AUTH_AUTHORITY_HOST',
  'AUTH_ALLOWED_CLIENT_APPS',
  'KEY_VAULT_URI',
  'TOKEN_RESOURCES',
  'RATE_LIMIT_PER_MINUTE',
  'KEY_ROTATION_DAYS',
  'KEY_ROTATION_SCHEDULE',
  'SECRET_MAX_AGE_MINUTES',
  'ARM_ENDPOINT',
  'OPERATOR_ROLES',
  'SELF_CHECK_SCHEDULE',
] as const;

/** Settings the platform or the Azure SDK defines, which the code also reads. */
export const PLATFORM_SETTING_NAMES = [
  'AZURE_CLIENT_ID',
  'IDENTITY_ENDPOINT',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__accountName',
] as const;

export type AppSettingName = (typeof APP_SETTING_NAMES)[number] | (typeof PLATFORM_SETTING_NAMES)[number];

/** App settings as the process has them (`process.env`, or `local.settings.json` `Values`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads one setting: trimmed, and blank counts as unset (App Service keeps empty app settings). */
export type ReadSetting = (name: AppSettingName) => string | undefined;

export function settingReader(env: Environment): ReadSetting {
  return (name) => env[name]?.trim() || undefined;
}

/** A comma-separated list setting: trimmed items, blanks dropped. */
export function listSetting(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
