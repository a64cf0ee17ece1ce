/**
 * The domain in one place: the clouds and resource kinds the service knows, a configured resource,
 * the validated configuration, and the shapes callers receive. The settings parser produces these;
 * every step of the flow imports them from here, never from the parser.
 */

/** Azure clouds with their own STS, Speech and Entra hosts (see `clouds/clouds.ts`). */
export const CLOUD_NAMES = ['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment'] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];

/** `speech` (Speech), `translator` (Translator), `cognitive` (multi-service Azure AI services). */
export const RESOURCE_KINDS = ['speech', 'translator', 'cognitive'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * What a resource name may be: ASCII letters, digits, `-` and `_`, starting with a letter or digit,
 * at most 63 characters. `TOKEN_RESOURCES` is checked against it at start-up, and every request's
 * `{resource}` before the name is logged, matched or echoed.
 */
export const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/**
 * A resource name as it is compared and logged: ASCII letters in lower case, nothing else changed.
 * Names are case-insensitive in ASCII only; Unicode case folding would let other characters match
 * (the Kelvin sign `\u212A` lower-cases to `k`).
 */
export function canonicalResourceName(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => String.fromCharCode(letter.charCodeAt(0) + 32));
}

/** An Azure AI resource whose key the service exchanges; one item of `TOKEN_RESOURCES`, validated. */
export interface TokenResource {
  /** Letters, digits, `-` and `_`; the `{resource}` of `/api/token/{resource}`. Unique case-insensitively. */
  readonly name: string;
  readonly kind: ResourceKind;
  readonly cloud: CloudName;
  /** Exactly one of `region` and `endpoint` is set. */
  readonly region: string | null;
  /** Origin of a custom-subdomain resource, e.g. `https://contoso.cognitiveservices.azure.com`. */
  readonly endpoint: string | null;
  /** The Key Vault secret holding the resource's key. */
  readonly secretName: string;
  /** App role values (`roles` claim); any one grants access. */
  readonly allowedRoles: readonly string[];
  /** Delegated scope values (`scp` claim); any one grants access. */
  readonly allowedScopes: readonly string[];
}

/** Who may call: Entra tenant, accepted audiences and where discovery happens. */
export interface AuthConfig {
  readonly tenantId: string;
  readonly audiences: readonly string[];
  /** Origin of the Entra authority, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** The cloud whose v1.0 issuer hosts are accepted. */
  readonly cloud: CloudName;
}

/**
 * The service's own Azure identity, for Key Vault. In Azure the platform's managed-identity endpoint
 * (`IDENTITY_ENDPOINT`) is used directly, with the user-assigned identity's client ID; elsewhere the
 * developer credential chain (`az login`, environment, ...).
 */
export interface IdentityConfig {
  readonly managedIdentity: boolean;
  /** `AZURE_CLIENT_ID`: the user-assigned identity; absent for a system-assigned one. */
  readonly clientId: string | undefined;
}

/** The validated app settings (`config/settings.ts` `loadConfig`). */
export interface Config {
  readonly auth: AuthConfig;
  readonly identity: IdentityConfig;
  /** Origin of the vault, `https://<name>.vault.azure.net`. */
  readonly keyVaultUri: string;
  readonly resources: readonly TokenResource[];
  /** Token requests per caller per minute on one instance; 0 = off. */
  readonly rateLimitPerMinute: number;
}

/** Service URLs a token is used with, by service (`stt`, `tts`, `text`, `base`, …). */
export type ClientEndpoints = Readonly<Record<string, string>>;

/** What a caller may know about a resource: nothing secret, no vault or secret name. */
export interface ResourceSummary {
  readonly name: string;
  readonly kind: ResourceKind;
  readonly cloud: CloudName;
  /** `null` for a custom-subdomain resource. */
  readonly region: string | null;
  readonly endpoints: ClientEndpoints;
}

/** The answer of `GET /api/token/{resource}`. */
export interface VendedToken extends Omit<ResourceSummary, 'name'> {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** ISO 8601. */
  readonly expiresOn: string;
  /** Counted by the server, so a client with a wrong clock still caches right. */
  readonly expiresInSeconds: number;
  readonly resource: string;
}
