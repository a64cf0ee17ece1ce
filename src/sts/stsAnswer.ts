import { z } from 'zod';
import { describeError, VendingError } from '../errors/serviceError.js';
import { parseRetryAfter, retryAfterSeconds } from '../http/retryAfter.js';
import { untrustedCertificate } from '../http/tlsTrust.js';
import type { UpstreamAnswer, UpstreamAttempt, UpstreamOutcome } from '../http/upstream.js';
import { readStsToken, STS_EXP_WINDOW_MS } from './stsToken.js';

/** What one `issueToken` attempt came to: a token, or a failure and whether another attempt may help. */
export type StsOutcome = UpstreamOutcome;

/** The attempt being judged (`url` is `{sts origin}/sts/v1.0/issueToken`), for diagnoses: never the key. */
export type StsAttempt = UpstreamAttempt;

/** An HTTP answer of the STS, as read off the wire. */
export type StsAnswer = UpstreamAnswer;

/**
 * The shapes the STS and the gateway in front of it use for errors: `{error: {code, message}}`
 * (code a digit string, a name such as `AuthenticationTypeDisabled`, or Translator's number such
 * as 403001) and the older `{statusCode, message}` of the call-volume quota.
 */
const stsErrorBody = z.union([
  z.object({ error: z.object({ code: z.union([z.string(), z.number()]).optional(), message: z.string() }) }),
  z.object({ statusCode: z.number().optional(), message: z.string() }),
]);

/** What an STS error body says: its message (one line, bounded) and its own code. */
interface UpstreamError {
  readonly message: string | undefined;
  readonly code: string | undefined;
}

/** How long a refused quota keeps callers away before the STS is asked again, in seconds. */
export const QUOTA_RECHECK_SECONDS = 300;

const MAX_TOKEN_LENGTH = 16 * 1024;
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Judges an STS answer. 200 with a token (`stsToken.ts`: a compact JWS with a numeric `exp` between
 * 60 s and 15 minutes ahead) is a token; 401 is a rejected key; 403 names its reason in the body;
 * 429 and 5xx may pass (retryable, honouring `Retry-After` up to a minute); any other status means
 * the request itself is wrong. Source for the bodies: the Azure AI services authentication
 * reference and the 401 body every regional STS sends.
 */
export function classifyStsAnswer(answer: StsAnswer, attempt: StsAttempt): StsOutcome {
  const { status, body } = answer;
  if (status === 200) {
    const token = body.trim();
    // Callers send it as `Authorization: Bearer <token>`: it must be a b64token (RFC 6750 §2.1).
    if (token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token)) {
      return failure(stsInvalidResponse(attempt, `a ${token.length}-character body that is not a token`), true);
    }
    const read = readStsToken(token);
    if (!read.ok) {
      return failure(
        stsInvalidResponse(attempt, `a ${token.length}-character body that is not a token: ${read.problem}`),
        true,
      );
    }
    const ahead = read.expiresAt - attempt.now;
    if (ahead < STS_EXP_WINDOW_MS.min || ahead > STS_EXP_WINDOW_MS.max) {
      return failure(stsInvalidResponse(attempt, tokenOutOfWindow(read.expiresAt, ahead)), true);
    }
    return { kind: 'credential', value: token };
  }
  const upstream = upstreamError(body);
  const said = upstream.message === undefined ? '' : `: "${upstream.message}"`;
  const message = upstream.message ?? '';
  if (status === 401) {
    if (/authentication ?type ?disabled|key based authentication is disabled/i.test(body))
      return failure(localAuthDisabled(attempt, said), false);
    return failure(keyRejected(attempt, said), false);
  }
  if (status === 403) {
    if (upstream.code === 'AuthenticationTypeDisabled' || /key based authentication is disabled/i.test(message)) {
      return failure(localAuthDisabled(attempt, said), false);
    }
    if (/virtual network is configured for this resource|use the correct endpoint/i.test(message)) {
      return failure(customSubdomainRequired(attempt, said), false);
    }
    if (/virtual network|firewall|network rule|public access|traffic.*denied/i.test(message)) {
      return failure(networkRestricted(attempt, said), false);
    }
    const replenishSeconds = replenishedIn(message);
    if (replenishSeconds !== undefined || /quota/i.test(message) || upstream.code === '403001') {
      return failure(quotaExceeded(attempt, said, replenishSeconds), false);
    }
    return failure(stsForbidden(attempt, said, upstream.code), false);
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter, attempt.now);
    const waitSeconds = retryAfterSeconds(retryAfterMs ?? 1000);
    const error =
      status === 429 ? stsThrottled(attempt, said, waitSeconds) : stsUnavailable(attempt, status, said, waitSeconds);
    return failure(error, true, retryAfterMs);
  }
  if (status === 404) return failure(stsNotFound(attempt, said), false);
  return failure(stsBadRequest(attempt, status, said, upstream.code), false);
}

/**
 * The wait in "Out of call volume quota. Quota will be replenished in 2.03:04:05.", in seconds:
 * a .NET TimeSpan, `[d.]hh:mm:ss`.
 */
export function replenishedIn(message: string): number | undefined {
  const match = /replenished in (?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})/i.exec(message);
  if (match === null) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds);
}

/**
 * Judges a request that got no HTTP answer: a timeout or a network failure, retryable unless the
 * host does not resolve (a wrong region, cloud or subdomain does not start to exist on retry) or
 * its certificate was refused (`tls_untrusted`: a TLS-inspecting proxy, a self-signed certificate).
 */
export function classifyStsNetworkFailure(error: unknown, attempt: StsAttempt): StsOutcome {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return failure(stsTimeout(attempt, error), true);
  }
  // A certificate refused is the same on the next attempt.
  const untrusted = untrustedCertificate(error, 'the token service', new URL(attempt.url).host);
  if (untrusted !== undefined) return failure(untrusted, false);
  const cause = error instanceof Error ? networkCause.safeParse(error.cause) : undefined;
  const code = cause?.success === true ? cause.data.code : undefined;
  // A TypeError with no system error behind it is a request fetch refused to build; its message
  // quotes the offending value, which may be the key.
  const unsent = error instanceof TypeError && error.cause === undefined;
  const reason =
    code ??
    (cause?.success === true ? cause.data.message : undefined) ??
    (unsent ? 'the request could not be built (TypeError)' : describeError(error));
  const unknownHost = code === 'ENOTFOUND';
  return failure(stsUnreachable(attempt, reason, unknownHost, error), !unknownHost && !unsent);
}

/** undici puts the system error (`ENOTFOUND`, `ECONNREFUSED`, …) in `cause`. */
const networkCause = z.object({ code: z.string().optional(), message: z.string().optional() });

function failure(error: VendingError, retryable: boolean, retryAfterMs?: number): StsOutcome {
  return { kind: 'failure', error, retryable, retryAfterMs };
}

function upstreamError(body: string): UpstreamError {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { message: undefined, code: undefined };
  }
  const parsed = stsErrorBody.safeParse(json);
  if (!parsed.success) return { message: undefined, code: undefined };
  const { message, code } =
    'error' in parsed.data
      ? { message: parsed.data.error.message, code: parsed.data.error.code }
      : { message: parsed.data.message, code: parsed.data.statusCode };
  // One line in the log, whatever the upstream put in its message.
  return {
    message: message.replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 300),
    code: code === undefined ? undefined : String(code).slice(0, 64),
  };
}

const POST = ({ url, resource }: StsAttempt) => `POST ${url} for "${resource}"`;

function keyRejected(attempt: StsAttempt, said: string): VendingError {
  return new VendingError('key_rejected', 'The token service rejected the resource key.', {
    detail: 'The token service rejected the key configured for this resource. The operator has been told.',
    diagnosis: `${POST(attempt)} returned 401${said}`,
    fix: "The key and the endpoint belong to different resources, or the key was regenerated. Compare region/cloud/endpoint in TOKEN_RESOURCES with the resource's Keys and Endpoint page and put a current key in the secret; `npm run doctor -- --locate` finds which region of the resource's cloud a key belongs to (add --all-clouds for the others). A newly created key can take up to 10 minutes to work; a resource whose key authentication was just disabled answers the same 401 for a while.",
  });
}

function localAuthDisabled(attempt: StsAttempt, said: string): VendingError {
  return new VendingError('local_auth_disabled', 'The resource does not accept keys.', {
    detail: 'The resource is configured not to accept keys. The operator has been told.',
    diagnosis: `${POST(attempt)} refused the key${said}: key (local) authentication is disabled on the resource`,
    fix: "This service exchanges the resource's key, so the resource must accept keys: set disableLocalAuth to false (az resource update --ids <resource id> --set properties.disableLocalAuth=false), or remove the resource from TOKEN_RESOURCES.",
  });
}

function customSubdomainRequired(attempt: StsAttempt, said: string): VendingError {
  return new VendingError('custom_subdomain_required', 'The resource only accepts calls at its custom subdomain.', {
    detail: 'The resource refused the exchange at this endpoint. The operator has been told.',
    diagnosis: `${POST(attempt)} returned 403${said}: the resource has network rules, and then its regional endpoint is refused`,
    fix: 'Set "endpoint" to the resource\'s custom subdomain (https://<name>.cognitiveservices.azure.com, on its Keys and Endpoint page) for this resource in TOKEN_RESOURCES, keeping "region".',
  });
}

function networkRestricted(attempt: StsAttempt, said: string): VendingError {
  return new VendingError('network_restricted', "The resource's network rules refused the call.", {
    detail: "The resource refused this service's network. The operator has been told.",
    diagnosis: `${POST(attempt)} returned 403${said}`,
    fix: "In the resource's Networking settings, allow the function app's outbound addresses, or reach the resource through a private endpoint from the app's VNet. Note that Speech REST and Translator take these tokens only when the resource allows all networks.",
  });
}

function quotaExceeded(attempt: StsAttempt, said: string, replenishSeconds: number | undefined): VendingError {
  const returns =
    replenishSeconds === undefined
      ? 'The quota returns at the start of the next billing period.'
      : `The quota returns at ${new Date(attempt.now + replenishSeconds * 1000).toISOString()}.`;
  // Asked again after a few minutes at most: an operator may move the resource to a higher tier.
  const retryAfterSeconds = Math.min(QUOTA_RECHECK_SECONDS, Math.max(1, replenishSeconds ?? QUOTA_RECHECK_SECONDS));
  return new VendingError('quota_exceeded', "The resource's call quota is used up.", {
    detail: `The resource's call quota is used up. ${returns} A higher pricing tier lifts the limit.`,
    diagnosis: `${POST(attempt)} returned 403${said}`,
    fix: `${returns} To lift it now, move the resource to a higher pricing tier (for example from F0 to S0) in the Azure portal; the service asks again within ${QUOTA_RECHECK_SECONDS / 60} minutes.`,
    retryAfterSeconds,
  });
}

function stsForbidden(attempt: StsAttempt, said: string, upstreamCode: string | undefined): VendingError {
  return new VendingError('sts_forbidden', 'The token service refused the call.', {
    detail: 'The token service refused the exchange. The operator has been told.',
    diagnosis: `${POST(attempt)} returned 403${said}`,
    fix: "Check the resource's state in the Azure portal (disabled, suspended subscription, pricing tier); the upstream code in this line names what the service refused.",
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
  });
}

function stsNotFound(attempt: StsAttempt, said: string): VendingError {
  return new VendingError('sts_not_found', 'The endpoint is not a token service.', {
    detail: 'The configured endpoint has no token service. The operator has been told.',
    diagnosis: `${POST(attempt)} returned 404${said}`,
    fix: 'The host answers but has no issueToken: check "endpoint" (the resource\'s own custom subdomain, not a proxy or another kind of resource) and "region" for this resource in TOKEN_RESOURCES.',
  });
}

function stsThrottled(attempt: StsAttempt, said: string, retryAfterSeconds: number): VendingError {
  return new VendingError('sts_throttled', 'The token service is throttling this resource.', {
    detail: 'The token service is busy. Retry shortly.',
    diagnosis: `${POST(attempt)} returned 429${said}`,
    fix: "Token requests are cached per resource; sustained 429s mean the resource's tier limits are hit.",
    retryAfterSeconds,
  });
}

function stsUnavailable(attempt: StsAttempt, status: number, said: string, retryAfterSeconds: number): VendingError {
  return new VendingError('sts_unavailable', 'The token service is unavailable.', {
    detail: 'The token service is busy. Retry shortly.',
    diagnosis: `${POST(attempt)} returned ${status}${said}`,
    fix: 'An Azure AI services outage; it usually passes.',
    retryAfterSeconds,
  });
}

function stsBadRequest(
  attempt: StsAttempt,
  status: number,
  said: string,
  upstreamCode: string | undefined,
): VendingError {
  return new VendingError('sts_bad_request', 'The token service refused the request.', {
    detail: 'The token service refused the exchange. The operator has been told.',
    diagnosis: `${POST(attempt)} returned ${status}${said}`,
    fix: "Check that the endpoint in TOKEN_RESOURCES is the resource's own (region or custom subdomain).",
    ...(upstreamCode === undefined ? {} : { upstreamCode }),
  });
}

/** What is wrong with a token's `exp`: how far it is from the answer's time, and the window. */
function tokenOutOfWindow(expiresAt: number, aheadMs: number): string {
  const seconds = Math.round(Math.abs(aheadMs) / 1000);
  const where = aheadMs < 0 ? `${seconds} s in the past` : `${seconds} s ahead`;
  return `a token whose exp (${new Date(expiresAt).toISOString()}) is ${where}, outside the ${STS_EXP_WINDOW_MS.min / 1000} s to ${STS_EXP_WINDOW_MS.max / 60_000} minutes an STS token has left when issued`;
}

function stsInvalidResponse(attempt: StsAttempt, what: string): VendingError {
  return new VendingError('sts_invalid_response', 'The token service answered with something that is not a token.', {
    detail: 'The token service gave an unexpected answer. Retry shortly.',
    diagnosis: `${POST(attempt)} returned 200 with ${what}; it was not vended`,
    fix: "Check that the resource endpoint is an Azure AI services STS and not a proxy or captive portal, and that the function app's clock is right (an STS token lives 10 minutes).",
  });
}

function stsTimeout(attempt: StsAttempt, cause: unknown): VendingError {
  return new VendingError('sts_timeout', 'The token service did not answer in time.', {
    detail: 'The token service did not answer in time. Retry shortly.',
    diagnosis: `${POST(attempt)}: no answer within ${attempt.timeoutMs} ms`,
    fix: 'Check outbound connectivity from the function app to the STS host.',
    retryAfterSeconds: 5,
    cause,
  });
}

function stsUnreachable(attempt: StsAttempt, reason: string, unknownHost: boolean, cause: unknown): VendingError {
  return new VendingError('sts_unreachable', 'The token service could not be reached.', {
    detail: 'The token service could not be reached. Retry shortly.',
    diagnosis: `${POST(attempt)} failed: ${reason}`,
    fix: unknownHost
      ? 'The STS host does not resolve: check the region, cloud or custom subdomain in TOKEN_RESOURCES (and private DNS for private endpoints).'
      : 'Check outbound connectivity (VNet, NSG, proxy) from the function app to the STS host.',
    retryAfterSeconds: 5,
    cause,
  });
}
