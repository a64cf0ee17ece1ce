/**
 * The one catalog of the failures a caller can receive: per stable code, its HTTP status, a short
 * title that is the same for every occurrence, what it means, what to do, and whether asking again
 * later can help. The code list, the problem+json mapping (`http/problem.ts`), the OpenAPI document
 * (`contract/openapi.ts`) and the docs' errors table (`npm run docs:errors`) are all derived from
 * it, so a new code is one entry here.
 */
export interface CatalogEntry {
  readonly status: number;
  readonly title: string;
  /** What happened, for the OpenAPI document and the docs. */
  readonly meaning: string;
  /** What the caller or the operator does about it. */
  readonly action: string;
  /** Whether the same request can succeed later without anyone changing anything. */
  readonly retryable: boolean;
}

export type ErrorCatalog = Readonly<Record<string, CatalogEntry>>;

const GRANT_SECRETS_USER = 'Grant **Key Vault Secrets User** on the vault or the secret.';

export const ERROR_CATALOG = {
  // caller
  missing_token: {
    status: 401,
    title: 'Access token required',
    meaning: 'No `Authorization: Bearer` header (`WWW-Authenticate: Bearer`).',
    action: 'Send an Entra access token for this API.',
    retryable: false,
  },
  invalid_token: {
    status: 401,
    title: 'Invalid access token',
    meaning:
      'Bad signature (or one spelled other than canonically), `alg` other than RS256, a key the tenant does not publish, wrong issuer/audience/tenant, expired or not yet valid, a lifetime over the 28 hours Entra issues, or not an access token (no `azp`/`appid`: an ID token) (`WWW-Authenticate: Bearer error="invalid_token"`). `detail` names the claim (`aud`, `iss`, `tid`, `exp`, `nbf`), or what the token is when its own unverified claims say so (a Microsoft Graph or other Microsoft API token, an ID token); the log line has the value received, what was expected and, for times, the difference with the server\'s clock.',
    action: 'Acquire an access token for one of `AUTH_AUDIENCES` in `AUTH_TENANT_ID`.',
    retryable: false,
  },
  forbidden: {
    status: 403,
    title: 'Not allowed to use this resource',
    meaning:
      "A valid caller without any of the resource's app roles or delegated scopes (on `/api/status`: without an operator role); `detail` names them. Also a caller whose token another client application obtained than `AUTH_ALLOWED_CLIENT_APPS` lists (the log's diagnosis names it).",
    action:
      'Assign the app role or grant the scope, then sign in again; or sign in with one of the allowed client apps.',
    retryable: false,
  },
  resource_not_found: {
    status: 404,
    title: 'No such resource',
    meaning:
      'No resource with that name (said only after authentication). A name that breaks the name rule (letters, digits, `-`, `_`, at most 63) is 404 before authentication and is neither echoed nor logged.',
    action: '`GET /api/resources` lists the resources this caller may request.',
    retryable: false,
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    meaning:
      "The caller is over its per-minute allowance on this instance: `RATE_LIMIT_PER_MINUTE` for all resources, or the resource's own `callerLimitPerMinute`; nothing was minted.",
    action: 'Reuse the token until shortly before it expires; retry after `Retry-After` seconds.',
    retryable: true,
  },
  identity_provider_unavailable: {
    status: 503,
    title: 'Cannot verify access tokens',
    meaning:
      "OIDC discovery failed, or no signing key set was ever fetched (once one was, it stays in use while Entra fails). `Retry-After` is 5 s, or Entra's own up to 60 s.",
    action:
      'Transient. If it persists, the operator checks `AUTH_TENANT_ID`, `AUTH_AUTHORITY_HOST` and outbound networking.',
    retryable: true,
  },
  // configuration
  configuration_invalid: {
    status: 503,
    title: 'Service not configured',
    meaning: 'The app settings are invalid; the problems are in the log.',
    action: 'The operator fixes the settings listed in the `configuration_invalid` log lines.',
    retryable: true,
  },
  // Key Vault
  keyvault_forbidden: {
    status: 502,
    title: 'Key Vault refused access',
    meaning:
      "A 403 from the vault that no other Key Vault code names (e.g. a deny assignment); the log line carries the vault's own codes and message.",
    action: `See the diagnosis; for a missing role: ${GRANT_SECRETS_USER}`,
    retryable: false,
  },
  keyvault_role_missing: {
    status: 502,
    title: 'Key Vault refused access',
    meaning: 'RBAC vault: the identity has no data-plane role (`ForbiddenByRbac`).',
    action: GRANT_SECRETS_USER,
    retryable: false,
  },
  keyvault_access_policy_missing: {
    status: 502,
    title: 'Key Vault refused access',
    meaning: 'Access-policy vault: no policy gives the identity secret Get (`ForbiddenByPolicy`, `AccessDenied`).',
    action: 'Add a Get secret access policy for the identity, or switch the vault to RBAC.',
    retryable: false,
  },
  keyvault_network_restricted: {
    status: 502,
    title: 'Key Vault network rules refused access',
    meaning:
      "The vault's firewall (`ForbiddenByFirewall`) or disabled public access (`ForbiddenByConnection`) refused the app.",
    action: "The vault's Networking: allow the app's addresses, or a private endpoint; a role will not help.",
    retryable: false,
  },
  keyvault_wrong_tenant: {
    status: 502,
    title: 'Key Vault refused access',
    meaning: "The identity's token is from another tenant than the vault's (`AKV10032: Invalid issuer`).",
    action: "Use a vault in the identity's tenant (locally `az login --tenant`).",
    retryable: false,
  },
  keyvault_token_rejected: {
    status: 502,
    title: "Key Vault refused the identity's token",
    meaning:
      "Key Vault answered 401 to the identity's token for another reason than its tenant: issued for another audience (`AKV10022`), expired or not yet valid (a clock), or missing on arrival (`AKV10000`: a proxy removed it). The log line has the vault's message.",
    action:
      'As the diagnosis says: the vault audience of its cloud, the clock, or the proxy in between; a role will not help.',
    retryable: false,
  },
  keyvault_bad_request: {
    status: 502,
    title: 'Key Vault refused the request',
    meaning:
      "Key Vault answered another 4xx (`BadParameter`: e.g. an API version the vault's cloud does not serve yet); the log line carries its code (`upstreamCode`) and message.",
    action: "See the log line's diagnosis.",
    retryable: false,
  },
  keyvault_credential_unavailable: {
    status: 502,
    title: 'No credential for Key Vault',
    meaning: 'No managed identity (or, locally, no `az login`) to read Key Vault with.',
    action: 'Assign the identity to the app (and set `AZURE_CLIENT_ID` for a user-assigned one).',
    retryable: false,
  },
  keyvault_unreachable: {
    status: 503,
    title: 'Key Vault unreachable',
    meaning: 'A network failure on the way to Key Vault.',
    action: 'Transient. If it persists, check `KEY_VAULT_URI`, DNS and the network path to the vault.',
    retryable: true,
  },
  tls_untrusted: {
    status: 502,
    title: 'Upstream certificate not trusted',
    meaning:
      'The TLS certificate presented for Key Vault, the token service, the Speech service, Azure OpenAI or Entra ID was refused (`SELF_SIGNED_CERT_IN_CHAIN`, `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, …): usually a TLS-inspecting proxy whose CA Node does not trust.',
    action:
      "Add the proxy's CA certificate to `NODE_EXTRA_CA_CERTS`, or exempt the host from inspection; never turn certificate checks off.",
    retryable: false,
  },
  keyvault_unavailable: {
    status: 503,
    title: 'Key Vault unavailable',
    meaning: "Key Vault answered 5xx after the client's retries.",
    action: 'Transient: retry after `Retry-After` seconds.',
    retryable: true,
  },
  keyvault_throttled: {
    status: 503,
    title: 'Key Vault throttling',
    meaning:
      "Key Vault answered 429 after the client's retries; the failure is remembered for its `Retry-After`, at most 60 s.",
    action: 'Fewer reads: raise `SECRET_MAX_AGE_MINUTES`; a shared vault under load needs its own.',
    retryable: true,
  },
  secret_not_found: {
    status: 502,
    title: 'Resource key not configured',
    meaning:
      "The secret named by `secretName` does not exist, or was deleted and is retained by soft delete (Key Vault's own hint is kept in the log).",
    action:
      'Fix `secretName`; recover a recently deleted secret (`az keyvault secret recover`), or purge it before creating it again: creating it meanwhile fails with 409 Conflict.',
    retryable: false,
  },
  secret_disabled: {
    status: 502,
    title: 'Resource key disabled',
    meaning: 'The secret named by `secretName` is disabled.',
    action: 'Enable the secret (or add an enabled version).',
    retryable: false,
  },
  key_looks_like_subscription_id: {
    status: 502,
    title: 'Resource key misconfigured',
    meaning: 'The secret holds a GUID: an Azure subscription ID, not a key. It is never sent to the STS.',
    action: "Store KEY 1 from the resource's *Keys and Endpoint* page.",
    retryable: false,
  },
  key_malformed: {
    status: 502,
    title: 'Resource key misconfigured',
    meaning:
      'The secret is neither 32 hex nor 84 alphanumeric characters and the STS refused it, or it holds a line break, control or non-ASCII character inside (never sent).',
    action: 'Store the key alone, on one line.',
    retryable: false,
  },
  // STS
  key_rejected: {
    status: 502,
    title: 'Resource key rejected',
    meaning:
      'The STS (or, for `openai-realtime` in key mode, Azure OpenAI) refused the key (401) even after the secret was read again.',
    action:
      'Key and endpoint are from different resources, or the key was regenerated: check region, cloud and endpoint, and store a current key.',
    retryable: false,
  },
  local_auth_disabled: {
    status: 502,
    title: 'Resource does not accept keys',
    meaning:
      'The resource has key authentication disabled (`AuthenticationTypeDisabled`; Azure OpenAI: 403 "Key based authentication is disabled").',
    action:
      'STS kinds exchange keys: set `disableLocalAuth` to false on the resource, or take it out of `TOKEN_RESOURCES`. `openai-realtime`: remove `secretName` to mint with the managed identity.',
    retryable: false,
  },
  network_restricted: {
    status: 502,
    title: 'Resource network rules refused the call',
    meaning: 'The resource\'s firewall refused this app ("Access denied due to Virtual Network/Firewall rules").',
    action:
      "Allow the app's outbound addresses in the resource's Networking, or use a private endpoint from the app's VNet.",
    retryable: false,
  },
  sts_forbidden: {
    status: 502,
    title: 'Token service refused the exchange',
    meaning: "Another 403 from the STS; the log line carries the STS's own code (`upstreamCode`).",
    action: "See the log line's diagnosis.",
    retryable: false,
  },
  sts_bad_request: {
    status: 502,
    title: 'Token service refused the exchange',
    meaning: "The STS answered 400; the log line carries the STS's own code (`upstreamCode`).",
    action: "See the log line's diagnosis.",
    retryable: false,
  },
  sts_not_found: {
    status: 502,
    title: 'No token service at the endpoint',
    meaning: 'The endpoint answered 404: no `issueToken` there.',
    action: "Check `endpoint` (the resource's own custom subdomain) and `region`.",
    retryable: false,
  },
  custom_subdomain_required: {
    status: 502,
    title: 'Resource needs its custom subdomain',
    meaning:
      'The resource has network rules, and then its regional endpoint is refused ("A Virtual Network is configured for this resource").',
    action: 'Set `endpoint` to its custom subdomain (keep `region`).',
    retryable: false,
  },
  quota_exceeded: {
    status: 503,
    title: 'Resource call quota used up',
    meaning:
      'The resource\'s call quota is used up (F0 "Out of call volume quota", Translator 403001). `detail` says when it returns; `Retry-After` is the replenish time, at most 5 minutes, and the STS is not asked again before then.',
    action: 'Wait, or move the resource to a higher pricing tier.',
    retryable: true,
  },
  sts_throttled: {
    status: 503,
    title: 'Token service busy',
    meaning: 'The STS answered 429 after retries; `Retry-After` is its own, at most 60 s.',
    action: 'Transient: retry after `Retry-After` seconds.',
    retryable: true,
  },
  sts_unavailable: {
    status: 503,
    title: 'Token service unavailable',
    meaning: 'The STS answered 5xx after retries; `Retry-After` is its own, at most 60 s.',
    action: 'Transient: retry after `Retry-After` seconds.',
    retryable: true,
  },
  sts_timeout: {
    status: 504,
    title: 'Token service timed out',
    meaning: 'The STS did not answer (headers and body) within 5 s per attempt, 12 s in all.',
    action: 'Transient: retry after `Retry-After` seconds; if it persists, the operator checks outbound networking.',
    retryable: true,
  },
  sts_unreachable: {
    status: 503,
    title: 'Token service unreachable',
    meaning: 'A network failure on the way to the STS, after retries.',
    action:
      'Transient: retry after `Retry-After` seconds; if it persists, the operator checks DNS and outbound networking.',
    retryable: true,
  },
  sts_invalid_response: {
    status: 502,
    title: 'Unexpected answer from the token service',
    meaning:
      'The STS answered 200 with something that is not a token: not a compact JWS with a numeric `exp`, or an `exp` outside 60 s to 15 minutes ahead.',
    action: "See the log line's diagnosis.",
    retryable: false,
  },
  // GPT Realtime (openai-realtime): the mint at the resource's client_secrets
  deployment_not_found: {
    status: 502,
    title: 'Realtime deployment not found',
    meaning: 'Azure OpenAI answered 404 `DeploymentNotFound`: the resource has no deployment named `deployment`.',
    action:
      'Set `deployment` to a GPT Realtime deployment of the resource (names are case-sensitive), or create it; a new one takes a few minutes.',
    retryable: false,
  },
  model_not_realtime: {
    status: 502,
    title: 'Deployment is not a realtime model',
    meaning:
      'Azure OpenAI answered 400 `OpperationNotSupported` (sic): the deployment serves a model without the realtime operation (e.g. gpt-4o).',
    action: 'Point `deployment` at a gpt-realtime (or gpt-realtime-mini) deployment.',
    retryable: false,
  },
  identity_role_missing: {
    status: 502,
    title: 'Service identity lacks the Azure OpenAI role',
    meaning:
      "Azure OpenAI answered 401/403 `PermissionDenied`: the app's managed identity does not hold **Cognitive Services OpenAI User** on the resource.",
    action:
      'Grant the identity **Cognitive Services OpenAI User** (`5e0bd9bd-7b93-4f28-af87-19fc36ad61bd`) on the resource; it takes up to 5 minutes to apply.',
    retryable: false,
  },
  openai_auth_failed: {
    status: 502,
    title: 'Service could not authenticate to Azure OpenAI',
    meaning:
      "The app's identity gave no token for the resource's audience (no managed identity, a wrong `AZURE_CLIENT_ID`, locally no `az login`), or Azure OpenAI refused the token for another reason than the role (another tenant or cloud).",
    action: "See the log line's diagnosis: assign the identity, or check `cloud` and the resource's tenant.",
    retryable: false,
  },
  openai_refused: {
    status: 502,
    title: 'Azure OpenAI refused the request',
    meaning:
      "Another 4xx from `client_secrets`: 400 for a field of the operator's `session` (the log names it), 404 for an endpoint without GPT Realtime, another 403. The log line carries Azure's code (`upstreamCode`).",
    action: "See the log line's diagnosis.",
    retryable: false,
  },
  openai_throttled: {
    status: 503,
    title: 'Azure OpenAI is throttling the resource',
    meaning:
      "Azure OpenAI answered 429: the deployment's rate limit is reached. `Retry-After` (and `retryAfterSeconds`) is Azure's own, at most 60 s; the mint is not retried.",
    action: "Retry after `Retry-After` seconds; the operator raises the deployment's capacity.",
    retryable: true,
  },
  openai_unavailable: {
    status: 503,
    title: 'Azure OpenAI unavailable',
    meaning: 'Azure OpenAI answered 5xx (or 408), also after one more attempt; `Retry-After` is its own, at most 60 s.',
    action: 'Transient: retry after `Retry-After` seconds.',
    retryable: true,
  },
  openai_unreachable: {
    status: 503,
    title: 'Azure OpenAI unreachable',
    meaning: 'A network failure on the way to the resource (a host that does not resolve is not retried).',
    action:
      'Transient: retry after `Retry-After` seconds; if it persists, the operator checks `endpoint`, DNS and outbound networking.',
    retryable: true,
  },
  openai_timeout: {
    status: 504,
    title: 'Azure OpenAI timed out',
    meaning: 'The resource did not answer within 5 s per attempt, 10 s in all.',
    action: 'Transient: retry after `Retry-After` seconds.',
    retryable: true,
  },
  openai_invalid_response: {
    status: 502,
    title: 'Unexpected answer from Azure OpenAI',
    meaning:
      'The mint answered 200 with something that is not an ephemeral key: not JSON, no `value`, or an `expires_at` already past or more than two hours ahead.',
    action: "See the log line's diagnosis.",
    retryable: false,
  },
  // HTTP
  route_not_found: {
    status: 404,
    title: 'No such route',
    meaning: 'No such route (the local host; Azure answers an unknown route with an empty 404).',
    action: 'Use one of the routes `detail` lists.',
    retryable: false,
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    meaning: 'The route does not answer this method; `Allow` lists the ones it does.',
    action: 'Use a method `Allow` lists.',
    retryable: false,
  },
  bad_request: {
    status: 400,
    title: 'Bad request',
    meaning:
      'A `Host` header that names no host, or a request target that is not a path (the local host; in Azure the platform refuses these itself).',
    action: 'Send a well-formed HTTP request.',
    retryable: false,
  },
  internal_error: {
    status: 500,
    title: 'Internal error',
    meaning: 'A bug.',
    action: 'Report it with the correlation id.',
    retryable: false,
  },
} as const satisfies ErrorCatalog;

/** Every failure a caller can receive, by stable machine-readable code. */
export type ErrorCode = keyof typeof ERROR_CATALOG;

/** The codes in catalog order. */
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as [ErrorCode, ...ErrorCode[]];
