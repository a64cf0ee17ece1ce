import { z } from 'zod';
import { describeError, VendingError } from '../../errors/serviceError.js';
import { parseRetryAfter, retryAfterSeconds } from '../../http/retryAfter.js';
import { untrustedCertificate } from '../../http/tlsTrust.js';
import type { UpstreamAnswer, UpstreamAttempt } from '../../http/upstream.js';

/** One mint, for diagnoses: never a key or a token. */
export interface MintAttempt extends UpstreamAttempt {
  /** The deployment sent as `session.model`, when known. */
  readonly deployment?: string;
  /** How the service authenticated, when known: the managed identity or a Key Vault key. */
  readonly auth?: 'identity' | 'key';
}

/** The session a caller is told about: what the key opens, never the prompt. */
export interface SessionSummary {
  readonly model: string;
  readonly voice: string | null;
}

/** What one `client_secrets` answer came to. */
export type MintOutcome =
  | {
      readonly kind: 'credential';
      /** The ephemeral key (`ek_…`). */
      readonly value: string;
      /** When it stops working, epoch ms: `expires_at`, else 60 s after the answer. */
      readonly expiresAt: number;
      /** The answer's session: its model, and its voice when it names one. */
      readonly session: { readonly model: string | undefined; readonly voice: string | undefined };
    }
  | {
      readonly kind: 'failure';
      readonly error: VendingError;
      readonly retryable: boolean;
      readonly retryAfterMs: number | undefined;
    };

/** Azure gives no lifetime for the ephemeral key; OpenAI's reference says one minute. */
export const DEFAULT_KEY_LIFETIME_MS = 60_000;
/** `expires_after` goes up to two hours (OpenAI's reference); a later `expires_at` is not believed. */
const LONGEST_KEY_LIFETIME_MS = 2 * 60 * 60_000 + 60_000;
const MAX_KEY_LENGTH = 4096;
/** What a caller sends as `Authorization: Bearer <key>`: a b64token (RFC 6750 §2.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `client_secrets`' 200 body, as far as the service reads it. */
const mintAnswerSchema = z.object({
  value: z.string().min(1).max(MAX_KEY_LENGTH).regex(B64TOKEN),
  expires_at: z.number().nullish(),
  session: z
    .looseObject({
      model: z.string().optional(),
      audio: z.looseObject({ output: z.looseObject({ voice: z.string().optional() }).nullish() }).nullish(),
    })
    .nullish(),
});

/** Azure's error bodies: `{error:{code,message,param?}}` (Azure and OpenAI v1) or `{statusCode,message}` (the gateway's 401). */
const errorBodySchema = z.union([
  z.object({
    error: z.object({
      code: z.union([z.string(), z.number()]).nullish(),
      message: z.string().nullish(),
      param: z.string().nullish(),
    }),
  }),
  z.object({ statusCode: z.number().optional(), message: z.string() }),
]);

interface UpstreamError {
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly param: string | undefined;
}

/**
 * Judges one `POST {endpoint}/openai/v1/realtime/client_secrets` answer. Pure: table-tested in
 * test/kinds/openai/realtimeAnswer.test.ts. 200 with a key is a credential; 401/403 name who was
 * refused (the identity's data role, its token, the key, key authentication turned off, network
 * rules); 404 `DeploymentNotFound` and 400 `OpperationNotSupported` (sic) name the deployment;
 * 429 and 5xx pass, carrying `Retry-After`. Sources: "Use the GPT Realtime API via WebRTC" (GA
 * v1) and the field errors of issue 19.
 */
export function classifyMintAnswer(answer: UpstreamAnswer, attempt: MintAttempt): MintOutcome {
  const { status, body } = answer;
  if (status === 200 || status === 201) return readKey(body, attempt);
  const upstream = upstreamError(body);
  const said = upstream.message === undefined ? '' : `: "${upstream.message}"`;
  const code = upstream.code;
  const withCode = code === undefined ? {} : { upstreamCode: code };
  if (status === 401 || status === 403) {
    if (code === 'AuthenticationTypeDisabled' || /key based authentication is disabled/i.test(body))
      return failure(localAuthDisabled(attempt, status, said), false);
    if (code === 'PermissionDenied' || /principal does not have access/i.test(body))
      return failure(identityRoleMissing(attempt, status, said), false);
    if (/virtual network|firewall|public access is disabled|network rule/i.test(body))
      return failure(networkRestricted(attempt, status, said), false);
    if (attempt.auth === 'key' || /subscription key/i.test(body))
      return failure(keyRejected(attempt, status, said), false);
    return failure(identityRejected(attempt, status, said, withCode), false);
  }
  if (status === 404 && code === 'DeploymentNotFound') return failure(deploymentNotFound(attempt, said), false);
  if (status === 400 && /^Op+erationNotSupported$/i.test(code ?? ''))
    return failure(modelNotRealtime(attempt, said), false);
  if (status === 429 || status === 408 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter, attempt.now);
    const wait = retryAfterSeconds(retryAfterMs ?? 1000);
    // A throttled caller is told when to come back; asking Azure again at once only earns another 429.
    if (status === 429) return failure(throttled(attempt, said, wait), false, retryAfterMs);
    return failure(unavailable(attempt, status, said, wait), true, retryAfterMs);
  }
  return failure(refused(attempt, status, said, upstream.param, withCode), false);
}

/**
 * Judges a mint that got no HTTP answer: a timeout or a network failure, retryable unless the host
 * does not resolve (a wrong resource name does not start to exist on retry).
 */
export function classifyMintNetworkFailure(error: unknown, attempt: MintAttempt): MintOutcome {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return failure(timedOut(attempt, error), true);
  // A proxy's or self-signed certificate: not an outage, and no retry makes it trusted.
  const untrusted = untrustedCertificate(error, 'Azure OpenAI', new URL(attempt.url).host);
  if (untrusted !== undefined) return failure(untrusted, false);
  const cause = error instanceof Error ? networkCause.safeParse(error.cause) : undefined;
  const code = cause?.success === true ? cause.data.code : undefined;
  // A TypeError with no system error behind it is a request fetch refused to build; its message
  // may quote a header value.
  const unsent = error instanceof TypeError && error.cause === undefined;
  const reason =
    code ??
    (cause?.success === true ? cause.data.message : undefined) ??
    (unsent ? 'the request could not be built (TypeError)' : describeError(error));
  const unknownHost = code === 'ENOTFOUND';
  return failure(unreachable(attempt, reason, unknownHost, error), !unknownHost && !unsent);
}

const networkCause = z.object({ code: z.string().optional(), message: z.string().optional() });

function readKey(body: string, attempt: MintAttempt): MintOutcome {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return failure(invalidResponse(attempt, `a ${body.length}-character body that is not JSON`), true);
  }
  const parsed = mintAnswerSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ');
    return failure(invalidResponse(attempt, `JSON without a usable ephemeral key (${where})`), true);
  }
  const { value, expires_at: expiresAtSeconds, session } = parsed.data;
  let expiresAt = attempt.now + DEFAULT_KEY_LIFETIME_MS;
  if (expiresAtSeconds !== undefined && expiresAtSeconds !== null) {
    expiresAt = expiresAtSeconds * 1000;
    const ahead = expiresAt - attempt.now;
    if (!(ahead > 0 && ahead <= LONGEST_KEY_LIFETIME_MS)) {
      const when = Number.isFinite(expiresAt) ? new Date(expiresAt).toISOString() : String(expiresAtSeconds);
      return failure(
        invalidResponse(
          attempt,
          `a key whose expires_at (${when}) is ${ahead <= 0 ? 'already past' : 'more than two hours ahead'} by this app's clock`,
        ),
        true,
      );
    }
  }
  return {
    kind: 'credential',
    value,
    expiresAt,
    session: { model: session?.model, voice: session?.audio?.output?.voice ?? undefined },
  };
}

function failure(error: VendingError, retryable: boolean, retryAfterMs?: number): MintOutcome {
  return { kind: 'failure', error, retryable, retryAfterMs };
}

function upstreamError(body: string): UpstreamError {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { code: undefined, message: undefined, param: undefined };
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success) return { code: undefined, message: undefined, param: undefined };
  const { code, message, param } =
    'error' in parsed.data
      ? parsed.data.error
      : { code: parsed.data.statusCode, message: parsed.data.message, param: undefined };
  // One line in the log, whatever the upstream put in its message.
  const line = (text: string | null | undefined, max: number) =>
    text === null || text === undefined ? undefined : text.replace(/\s*[\r\n]+\s*/g, ' ').slice(0, max);
  return {
    code: code === null || code === undefined ? undefined : line(String(code), 64),
    message: line(message, 300),
    param: line(param, 100),
  };
}

const POST = ({ url, resource }: MintAttempt) => `POST ${url} for "${resource}"`;
const DEPLOYMENT = (attempt: MintAttempt) =>
  attempt.deployment === undefined ? 'the deployment' : `deployment "${attempt.deployment}"`;
const OPENAI_USER =
  '"Cognitive Services OpenAI User" (role id 5e0bd9bd-7b93-4f28-af87-19fc36ad61bd) on the Azure OpenAI resource';

function identityRoleMissing(attempt: MintAttempt, status: number, said: string): VendingError {
  return new VendingError('identity_role_missing', "The service's identity may not use the Azure OpenAI resource.", {
    detail: 'The service is not allowed to use this resource. The operator has been told.',
    diagnosis: `${POST(attempt)} returned ${status}${said}: the app's managed identity lacks the data role`,
    fix: `Grant the function app's managed identity ${OPENAI_USER}: az role assignment create --assignee <identity's principal id> --role "Cognitive Services OpenAI User" --scope <resource id>. A new assignment takes up to 5 minutes to apply.`,
    upstreamCode: 'PermissionDenied',
  });
}

function identityRejected(
  attempt: MintAttempt,
  status: number,
  said: string,
  withCode: { upstreamCode?: string },
): VendingError {
  return new VendingError('openai_auth_failed', "Azure OpenAI refused the service's identity.", {
    detail: 'The service could not authenticate to this resource. The operator has been told.',
    diagnosis: `${POST(attempt)} returned ${status}${said}: the managed identity's token was not accepted`,
    fix: 'The token is for another tenant or cloud than the resource: check "cloud" for this resource in TOKEN_RESOURCES and that the resource lives in the function app identity\'s tenant. If the resource lets only keys in, add "secretName" with its key in Key Vault.',
    ...withCode,
  });
}

function keyRejected(attempt: MintAttempt, status: number, said: string): VendingError {
  return new VendingError('key_rejected', 'Azure OpenAI rejected the resource key.', {
    detail: 'The resource rejected the key configured for it. The operator has been told.',
    diagnosis: `${POST(attempt)} returned ${status}${said}`,
    fix: 'The key belongs to another resource than "endpoint", or was regenerated: put KEY 1 from the resource\'s Keys and Endpoint page into the secret; or drop "secretName" and mint with the app\'s managed identity.',
  });
}

function localAuthDisabled(attempt: MintAttempt, status: number, said: string): VendingError {
  return new VendingError('local_auth_disabled', 'The resource does not accept keys.', {
    detail: 'The resource is configured not to accept keys. The operator has been told.',
    diagnosis: `${POST(attempt)} returned ${status}${said}: key (local) authentication is disabled on the resource`,
    fix: `Remove "secretName" from this resource in TOKEN_RESOURCES, so the service mints with its managed identity, and grant that identity ${OPENAI_USER}.`,
    upstreamCode: 'AuthenticationTypeDisabled',
  });
}

function networkRestricted(attempt: MintAttempt, status: number, said: string): VendingError {
  return new VendingError('network_restricted', "The resource's network rules refused the call.", {
    detail: "The resource refused this service's network. The operator has been told.",
    diagnosis: `${POST(attempt)} returned ${status}${said}`,
    fix: "In the resource's Networking settings, allow the function app's outbound addresses or reach it through a private endpoint. Browsers connect to the WebRTC URL themselves, so that URL must stay reachable from where callers are.",
  });
}

function deploymentNotFound(attempt: MintAttempt, said: string): VendingError {
  return new VendingError('deployment_not_found', 'The realtime deployment does not exist.', {
    detail: 'The configured model deployment does not exist. The operator has been told.',
    diagnosis: `${POST(attempt)} returned 404${said}: the resource has no ${DEPLOYMENT(attempt)}`,
    fix: `Set "deployment" to the name of a GPT Realtime deployment on this resource (Foundry portal, Deployments; names are case-sensitive), or create one. A new deployment takes a few minutes to answer.`,
    upstreamCode: 'DeploymentNotFound',
  });
}

function modelNotRealtime(attempt: MintAttempt, said: string): VendingError {
  return new VendingError('model_not_realtime', 'The deployment is not a realtime model.', {
    detail: 'The configured deployment is not a GPT Realtime model. The operator has been told.',
    diagnosis: `${POST(attempt)} returned 400${said}: ${DEPLOYMENT(attempt)} serves a model without the realtime operation`,
    fix: 'Point "deployment" at a deployment of a realtime model (gpt-realtime, gpt-realtime-mini, gpt-4o-realtime-preview), in eastus2 or swedencentral.',
    upstreamCode: 'OpperationNotSupported',
  });
}

function throttled(attempt: MintAttempt, said: string, wait: number): VendingError {
  return new VendingError('openai_throttled', 'Azure OpenAI is throttling this resource.', {
    detail: `The resource is busy. Retry after ${wait} s.`,
    diagnosis: `${POST(attempt)} returned 429${said}`,
    fix: "The deployment's rate limit (tokens or requests per minute) is reached: raise its capacity (quota), spread callers over a failover resource, or lower callerLimitPerMinute.",
    retryAfterSeconds: wait,
  });
}

function unavailable(attempt: MintAttempt, status: number, said: string, wait: number): VendingError {
  return new VendingError('openai_unavailable', 'Azure OpenAI is unavailable.', {
    detail: 'The resource is unavailable. Retry shortly.',
    diagnosis: `${POST(attempt)} returned ${status}${said}`,
    fix: 'An Azure OpenAI outage or overload; it usually passes. Check Azure status for the region if it persists.',
    retryAfterSeconds: wait,
  });
}

function refused(
  attempt: MintAttempt,
  status: number,
  said: string,
  param: string | undefined,
  withCode: { upstreamCode?: string },
): VendingError {
  const fix =
    status === 400
      ? `Azure OpenAI refused the mint's body${param === undefined ? '' : ` at "${param}"`}: correct that field of "session" for this resource in TOKEN_RESOURCES (GA v1 field names).`
      : status === 404
        ? 'The endpoint has no GPT Realtime surface: check that "endpoint" is the Azure OpenAI or AI Foundry resource itself (not a Speech resource, an API gateway or a proxy).'
        : "See the upstream code and message in this line; check the resource's state in the Azure portal.";
  return new VendingError('openai_refused', 'Azure OpenAI refused the request.', {
    detail: 'The resource refused to mint a key. The operator has been told.',
    diagnosis: `${POST(attempt)} returned ${status}${said}`,
    fix,
    ...withCode,
  });
}

function invalidResponse(attempt: MintAttempt, what: string): VendingError {
  return new VendingError('openai_invalid_response', 'Azure OpenAI answered with something that is not a key.', {
    detail: 'The resource gave an unexpected answer. Retry shortly.',
    diagnosis: `${POST(attempt)} answered with ${what}; nothing was vended`,
    fix: 'Check that "endpoint" is the resource itself and not a proxy or captive portal, and that the function app\'s clock is right.',
  });
}

function timedOut(attempt: MintAttempt, cause: unknown): VendingError {
  return new VendingError('openai_timeout', 'Azure OpenAI did not answer in time.', {
    detail: 'The resource did not answer in time. Retry shortly.',
    diagnosis: `${POST(attempt)}: no answer within ${attempt.timeoutMs} ms`,
    fix: 'Check outbound connectivity from the function app to the resource host.',
    retryAfterSeconds: 5,
    cause,
  });
}

function unreachable(attempt: MintAttempt, reason: string, unknownHost: boolean, cause: unknown): VendingError {
  return new VendingError('openai_unreachable', 'Azure OpenAI could not be reached.', {
    detail: 'The resource could not be reached. Retry shortly.',
    diagnosis: `${POST(attempt)} failed: ${reason}`,
    fix: unknownHost
      ? 'The host does not resolve: check "endpoint" (the resource\'s own name) and "cloud" in TOKEN_RESOURCES, and private DNS for a private endpoint.'
      : 'Check outbound connectivity (VNet, NSG, proxy) from the function app to the resource host.',
    retryAfterSeconds: 5,
    cause,
  });
}

/**
 * The app's identity gave no token for the resource's audience: no managed identity (or the wrong
 * `AZURE_CLIENT_ID`), or locally no `az login`. Never retried here: the credential retries itself.
 */
export function identityUnavailable(resource: string, scope: string, error: unknown): VendingError {
  return new VendingError('openai_auth_failed', "The service's identity has no token for Azure OpenAI.", {
    detail: 'The service could not authenticate to this resource. The operator has been told.',
    diagnosis: `no token for ${scope} (for "${resource}"): ${describeError(error)}`,
    fix: 'Give the function app a managed identity (and set AZURE_CLIENT_ID for a user-assigned one); locally, sign in with `az login`.',
    cause: error,
  });
}
