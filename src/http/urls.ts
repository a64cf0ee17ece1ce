/** Loopback hosts are the only place plain http is allowed: local fakes and the sandbox. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** `parseServiceUrl`'s answer: the URL, or what is wrong with it (starting with the value). */
export type UrlCheck = { ok: true; url: URL } | { ok: false; problem: string };

/**
 * Accepts an https URL, or http on loopback, without credentials; a path is left to the caller.
 * `example` is the form the not-a-URL problem suggests (default `https://host`). A problem starts
 * with the value, for the caller to prefix with the setting or field it came from.
 */
export function parseServiceUrl(value: string, example = 'https://host'): UrlCheck {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: `"${value}" is not a URL; give it as ${example}` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return { ok: false, problem: `"${value}" must use https (plain http is allowed only for loopback addresses)` };
  }
  if (url.username || url.password) return { ok: false, problem: `"${url.host}" must not carry credentials` };
  return { ok: true, url };
}

export type OriginCheck = { ok: true; origin: string } | { ok: false; problem: string };

/** Accepts `https://host[:port][/]`, or http on loopback; anything with a path, query or credentials is refused. */
export function parseOrigin(value: string): OriginCheck {
  const checked = parseServiceUrl(value);
  if (!checked.ok) return checked;
  const { url } = checked;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return { ok: false, problem: `"${value}" must be just scheme and host, without a path; use ${url.origin}` };
  }
  return { ok: true, origin: url.origin };
}
