/**
 * The `aud` values a token for `audiences` (AUTH_AUDIENCES as read: GUIDs in lower case, App ID
 * URIs without a trailing slash) may carry: a v1.0 token keeps the App ID URI as the client asked
 * for it, with or without the slash, so a URI is accepted both ways; a GUID only as it is.
 */
export function audienceSpellings(audiences: readonly string[]): string[] {
  return audiences.flatMap((a) => (/^[a-z][a-z0-9+.-]*:/i.test(a) ? [a, `${a}/`] : [a]));
}
