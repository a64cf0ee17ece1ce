import { isGuid, type TelemetryConfig } from '../model.js';
import { isLoopbackHost } from '../http/urls.js';

/** How often metrics are sent: a minute, as Application Insights aggregates them. */
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/** The exporter's own default when a connection string names no `IngestionEndpoint`. */
const DEFAULT_INGESTION_ENDPOINT = 'https://dc.services.visualstudio.com';

const CONNECTION_STRING_FIX =
  "Set APPLICATIONINSIGHTS_CONNECTION_STRING to the Application Insights resource's connection string (Overview > Connection String: InstrumentationKey=<GUID>;IngestionEndpoint=https://...), or remove it to send nothing.";
const AUTHENTICATION_STRING_FIX =
  "Set APPLICATIONINSIGHTS_AUTHENTICATION_STRING to Authorization=AAD;ClientId=<the app's user-assigned identity client ID> (or Authorization=AAD for a system-assigned identity).";

/** `Key=Value;Key=Value`, keys case-insensitive, as Application Insights writes them. */
function pairs(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) found.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return found;
}

/**
 * Where telemetry goes, from `APPLICATIONINSIGHTS_CONNECTION_STRING` and
 * `APPLICATIONINSIGHTS_AUTHENTICATION_STRING`, and how often metrics are sent
 * (`OTEL_METRIC_EXPORT_INTERVAL`, OpenTelemetry's own variable, in ms). Never a configuration error: telemetry must not stop
 * the service, so an unusable value turns export off and says why (logged once at start-up). The
 * exporter reads only the connection string; the authentication string (which the Functions host
 * reads for its own telemetry) is mapped here to the managed identity the app sends with.
 */
export function readTelemetrySettings(
  connectionString: string | undefined,
  authenticationString: string | undefined,
  exportInterval: string | undefined,
): TelemetryConfig {
  if (connectionString === undefined) return { export: 'off' };
  const invalid = (problem: string, fix: string): TelemetryConfig => ({ export: 'invalid', problem, fix });
  const fields = pairs(connectionString);
  const instrumentationKey = fields.get('instrumentationkey');
  // The exporter's constructor throws on a key that is not a GUID; it is not a secret, but the
  // value is not echoed: a pasted key of some other service could be.
  if (instrumentationKey === undefined || !isGuid(instrumentationKey))
    return invalid(
      'APPLICATIONINSIGHTS_CONNECTION_STRING has no InstrumentationKey that is a GUID',
      CONNECTION_STRING_FIX,
    );
  const endpoint = fields.get('ingestionendpoint') || DEFAULT_INGESTION_ENDPOINT;
  let ingestion: URL;
  try {
    ingestion = new URL(endpoint);
  } catch {
    return invalid(
      'APPLICATIONINSIGHTS_CONNECTION_STRING has an IngestionEndpoint that is not a URL',
      CONNECTION_STRING_FIX,
    );
  }
  // The exporter rewrites http to https, so plain http can only be meant for a loopback fake.
  if (ingestion.protocol !== 'https:' && !(ingestion.protocol === 'http:' && isLoopbackHost(ingestion.hostname)))
    return invalid(
      'APPLICATIONINSIGHTS_CONNECTION_STRING has an IngestionEndpoint that is not https',
      CONNECTION_STRING_FIX,
    );

  let entra: { readonly clientId: string | undefined } | undefined;
  if (authenticationString !== undefined) {
    const auth = pairs(authenticationString);
    if (auth.get('authorization')?.toLowerCase() !== 'aad')
      return invalid(
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING does not say Authorization=AAD',
        AUTHENTICATION_STRING_FIX,
      );
    const clientId = auth.get('clientid') || undefined;
    if (clientId !== undefined && !isGuid(clientId))
      return invalid(
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING has a ClientId that is not a GUID',
        AUTHENTICATION_STRING_FIX,
      );
    entra = { clientId };
  }
  let exportIntervalMs = DEFAULT_EXPORT_INTERVAL_MS;
  if (exportInterval !== undefined) {
    if (!/^\d+$/.test(exportInterval) || Number(exportInterval) < 1000)
      return invalid(
        'OTEL_METRIC_EXPORT_INTERVAL is not a whole number of milliseconds of at least 1000',
        `Remove OTEL_METRIC_EXPORT_INTERVAL (default ${DEFAULT_EXPORT_INTERVAL_MS} ms) or give milliseconds, e.g. 30000.`,
      );
    exportIntervalMs = Number(exportInterval);
  }
  return { export: 'azure-monitor', connectionString, ingestionEndpoint: ingestion.origin, entra, exportIntervalMs };
}
