import { describeError } from '../errors/serviceError.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The parts of Core Tools' local.settings.json the local host honours. */
const localSettingsFile = z.object({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.string()).optional(),
  Host: z
    .object({
      LocalHttpPort: z.union([z.number(), z.string()]).optional(),
      CORS: z.string().optional(),
      CORSCredentials: z.boolean().optional(),
    })
    .optional(),
});

/** Why `Host.CORS: "*"` with `Host.CORSCredentials: true` is refused at start-up. */
export const WILDCARD_WITH_CREDENTIALS =
  'Host.CORS "*" with Host.CORSCredentials true is refused: any page on any origin (even "null": sandboxed frames, local files) could call the API with the browser\'s credentials, and Azure\'s platform CORS refuses the same combination. List the allowed origins in Host.CORS instead.';

export interface LocalSettings {
  readonly values: Readonly<Record<string, string>>;
  /** Allowed browser origins, as `Host.CORS` (comma-separated; `*` allows any). */
  readonly corsOrigins: readonly string[];
  readonly corsCredentials: boolean;
  readonly port: number | undefined;
}

export const NO_LOCAL_SETTINGS: LocalSettings = {
  values: {},
  corsOrigins: [],
  corsCredentials: false,
  port: undefined,
};

/** Reads local.settings.json if it exists; a file that exists but is wrong is an error, not ignored. */
export function readLocalSettings(path: string): LocalSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NO_LOCAL_SETTINGS;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${describeError(error)}`, { cause: error });
  }
  const parsed = localSettingsFile.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  if (parsed.data.IsEncrypted)
    throw new Error(`${path} is encrypted; the local host reads only plain settings (IsEncrypted: false)`);
  const port = parsed.data.Host?.LocalHttpPort;
  const corsOrigins = (parsed.data.Host?.CORS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  const corsCredentials = parsed.data.Host?.CORSCredentials ?? false;
  if (corsOrigins.includes('*') && corsCredentials) throw new Error(`${path}: ${WILDCARD_WITH_CREDENTIALS}`);
  const notOrigins = corsOrigins.filter((origin) => origin !== '*' && bareOrigin(origin) !== origin);
  if (notOrigins.length > 0) {
    // A browser sends the bare origin, so "https://app.contoso.com/" never matches and the page
    // sees only "Failed to fetch".
    const suggestions = notOrigins.map(
      (o) => `"${o}"${bareOrigin(o) === undefined ? '' : ` (use "${bareOrigin(o)}")`}`,
    );
    throw new Error(
      `${path}: Host.CORS lists ${suggestions.join(', ')}: an origin is scheme, host and port only, with no path or trailing slash, as browsers send it in the Origin header`,
    );
  }
  return {
    values: parsed.data.Values ?? {},
    corsOrigins,
    corsCredentials,
    port: port === undefined ? undefined : Number(port),
  };
}

/** `scheme://host[:port]` of a URL, or `undefined` when it is not one. */
function bareOrigin(value: string): string | undefined {
  try {
    const { origin } = new URL(value);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
