import { microsoftApiOf } from '../clouds/microsoftApis.js';
import { GUID_PATTERN, isGuid, type TokenResource } from '../model.js';
import type { SettingsReport } from './problems.js';

/** Delegated scope values Entra apps commonly expose, beside the ones the resources list. */
const COMMON_SCOPE_VALUES = ['user_impersonation', 'access_as_user'];

/** A scope value as apps name them in Entra's docs and portals: `Tokens.Request`, `User.Read.All`. */
const DOTTED_SCOPE = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+$/;

const BRACED_GUID = new RegExp(`^\\{(${GUID_PATTERN})\\}$`, 'i');

/**
 * `AUTH_AUDIENCES`: the `aud` values accepted, as the verifier compares them: GUIDs in lower case,
 * App ID URIs without a trailing slash (the verifier accepts both spellings). An
 * access token's `aud` is this API's application (client) ID, a GUID in lower case (v2.0 tokens),
 * or the App ID URI the client asked for (v1.0 tokens: `api://…`, `https://…`, with a trailing
 * slash when the client asked with one, as Entra keeps the resource as requested). A value that no token's `aud` can ever equal is refused with the form to
 * use: a scope (`…/.default`, `…/Tokens.Request`), several values in one, quotes or braces, a name
 * without a scheme, a URI with a query or fragment, the tenant ID, a `@tenant` suffix, or a
 * Microsoft API's audience (Graph's and the others' tokens are theirs, never this API's).
 */
export function readAudiences(
  values: readonly string[],
  context: { readonly tenantId: string | undefined; readonly resources: readonly TokenResource[] },
  report: SettingsReport,
): string[] {
  const problem = (message: string) => report.problem('AUTH_AUDIENCES', message);
  if (values.length === 0) {
    problem("is required: the API's application (client) ID and/or App ID URI (api://...), comma-separated");
  }
  const scopes = new Set([...COMMON_SCOPE_VALUES, ...context.resources.flatMap((r) => r.allowedScopes)]);
  const accepted: string[] = [];
  for (const value of values) {
    const refusal = refuse(value, context.tenantId, scopes);
    if (refusal !== undefined) {
      problem(`"${value}" ${refusal}`);
      continue;
    }
    accepted.push(isGuid(value) ? value.toLowerCase() : value.replace(/\/+$/, ''));
  }
  return [...new Set(accepted)];
}

/** Why `value` can never be a token's `aud`, with the form to use; `undefined` when it can. */
function refuse(value: string, tenantId: string | undefined, scopes: ReadonlySet<string>): string | undefined {
  const unquoted = value.replace(/^["'`]+|["'`]+$/g, '');
  if (unquoted !== value) return `is quoted: the quotes would be part of the value; use ${unquoted}`;
  const braced = BRACED_GUID.exec(value)?.[1];
  if (braced !== undefined) return `has braces around the GUID, which aud never has; use ${braced.toLowerCase()}`;
  if (/\s/.test(value)) {
    return `holds whitespace: a token's aud is one value (several scopes pasted together?); list the API's client ID and App ID URI, comma-separated`;
  }
  const microsoft = microsoftApiOf(value);
  if (microsoft !== undefined) {
    return `is the audience of ${microsoft.name}, not of this API: its tokens are meant for ${microsoft.name} (and a Graph token cannot be verified by anyone else); list this API's own application (client) ID and App ID URI, and have clients request this API's scope`;
  }
  const tenantQualified = /^([^@/]+)@([^@/]+)$/.exec(value);
  if (tenantQualified?.[1] !== undefined) {
    return `is tenant-qualified, and aud never is: the tenant is checked on its own (AUTH_TENANT_ID); use ${tenantQualified[1]}`;
  }
  if (isGuid(value)) {
    if (value.toLowerCase() === tenantId?.toLowerCase()) {
      return "is the tenant ID (AUTH_TENANT_ID), not an application: use the API's Application (client) ID, from App registrations > Overview";
    }
    return undefined;
  }
  const guidScope = new RegExp(`^(${GUID_PATTERN})/`, 'i').exec(value)?.[1];
  if (guidScope !== undefined) {
    return `is a scope (what a client asks for), not an audience (what the token's aud carries); use "${guidScope.toLowerCase()}"`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is neither an application (client) ID (a GUID) nor an App ID URI (api://… or https://…, from App registrations > Expose an API); a name or a domain alone is never a token's aud`;
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    return `has a query or fragment, which an App ID URI never has; use ${value.replace(/[?#].*$/, '')}`;
  }
  const audienceOfScope = audienceBeforeScope(value, scopes);
  if (audienceOfScope !== undefined) {
    return `is a scope (what a client asks for), not an audience (what the token's aud carries); use "${audienceOfScope}"`;
  }
  return undefined;
}

/**
 * The audience an AUTH_AUDIENCES value names when it is really a scope: `api://x/.default`, or
 * `api://x/Tokens.Request` where `Tokens.Request` is a scope a resource allows, a common one, or
 * dotted like scope values are. App ID URIs may have paths of their own (`api://{tenant}/api`),
 * so only a scope-shaped last segment is taken for one.
 */
function audienceBeforeScope(value: string, scopes: ReadonlySet<string>): string | undefined {
  const trimmed = value.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  if (slash <= trimmed.indexOf('://') + 2) return undefined;
  const last = trimmed.slice(slash + 1);
  return last === '.default' || scopes.has(last) || DOTTED_SCOPE.test(last) ? trimmed.slice(0, slash) : undefined;
}
