import { decodeJwt, decodeProtectedHeader, errors as joseErrors, type JWTPayload } from 'jose';
import { microsoftApiOf } from '../clouds/microsoftApis.js';
import { describeError, VendingError } from '../errors/serviceError.js';
import { isGuid } from '../model.js';
import { audienceSpellings } from './audienceSpellings.js';

/** No `Authorization` header at all: 401 with a bare `Bearer` challenge. */
export function missingToken(): VendingError {
  return new VendingError('missing_token', 'An Entra ID access token is required.', {
    detail: 'Send an Entra ID access token for this API in the Authorization header: "Authorization: Bearer <token>".',
  });
}

/** The claim a refusal is about, as the caller is told it: which claim, never a configured value. */
export type RefusedClaim = 'aud' | 'iss' | 'tid' | 'exp' | 'nbf';

const CLAIM_DETAIL: Readonly<Record<RefusedClaim, string>> = {
  aud: "The access token's audience (aud) is not this API: acquire a token for this API's scope.",
  iss: "The access token's issuer (iss) is not this API's Entra tenant: sign in to the right tenant.",
  tid: 'The access token is from another Entra tenant (tid) than this API accepts: sign in to the right tenant.',
  exp: 'The access token has expired (exp): acquire a new one.',
  nbf: "The access token is not valid yet (nbf): check the device's clock, then retry.",
};

/**
 * A token we refuse. The full reason goes to the log only (`diagnosis`); the caller gets a stable
 * detail, naming the claim when one is to blame, and no configuration value.
 */
export function invalidToken(reason: string, cause?: unknown, claim?: RefusedClaim, detail?: string): VendingError {
  return new VendingError('invalid_token', `Caller token rejected: ${reason}`, {
    detail:
      detail ??
      (claim === undefined
        ? 'The access token is missing, malformed, expired or not issued for this API. Acquire a new token for this API and retry.'
        : CLAIM_DETAIL[claim]),
    diagnosis: reason,
    cause,
  });
}

/** What the verifier expected, to say what a refused claim should have been. */
export interface VerificationContext {
  /** `AUTH_TENANT_ID`. */
  readonly tenantId: string;
  readonly audiences: readonly string[];
  readonly issuers: readonly string[];
  /** The injected clock, epoch ms. */
  readonly now: number;
  readonly clockToleranceSeconds: number;
}

/** A clock difference this small is a clock problem more likely than a stale token. */
const CLOCK_HINT_SECONDS = 5 * 60;

/**
 * The log line for a refused claim: the claim, the value received and what was expected. For `aud`
 * with the v1/v2 hint (v1.0 tokens carry the App ID URI, v2.0 tokens the client ID); for `exp` and
 * `nbf` the claim's time, the server's time and the difference (Entra access token claims
 * reference).
 */
function claimReason(claim: string, payload: Record<string, unknown>, context: VerificationContext): string {
  const received = (value: unknown) =>
    value === undefined ? 'missing' : typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  switch (claim) {
    case 'aud': {
      const version = payload.ver === '1.0' ? 'v1.0' : payload.ver === '2.0' ? 'v2.0' : 'unknown-version';
      return `claim "aud" is ${received(payload.aud)}, accepted: ${context.audiences.join(', ')} (a ${version} token; v1.0 tokens carry the App ID URI, api://..., v2.0 tokens the client ID: list both in AUTH_AUDIENCES if unsure)`;
    }
    case 'iss':
      return `claim "iss" is ${received(payload.iss)}, accepted: ${context.issuers.join(', ')}`;
    case 'exp':
    case 'nbf': {
      const seconds = payload[claim];
      const at = typeof seconds === 'number' ? seconds * 1000 : undefined;
      if (at === undefined) return `claim "${claim}" is missing or not a number`;
      const differenceSeconds = Math.round((context.now - at) / 1000);
      const clock =
        Math.abs(differenceSeconds) <= CLOCK_HINT_SECONDS
          ? `; a difference this small (${context.clockToleranceSeconds} s are tolerated) points at a clock: check the server's or the token issuer's time`
          : '';
      return `claim "${claim}" is ${new Date(at).toISOString()}, server time ${new Date(context.now).toISOString()}, ${Math.abs(differenceSeconds)} s ${claim === 'exp' ? 'after it' : 'before it'}${clock}`;
    }
    default:
      return `claim "${claim}" failed`;
  }
}

const REFUSED_CLAIMS: ReadonlySet<string> = new Set(['aud', 'iss', 'tid', 'exp', 'nbf']);

/**
 * We cannot check any token right now (discovery or the key set failed): 503, retry after
 * `retryAfterSeconds` (default 5; Entra's own `Retry-After`, capped, when it sent one).
 */
export function identityProviderUnavailable(reason: string, cause?: unknown, retryAfterSeconds = 5): VendingError {
  return new VendingError('identity_provider_unavailable', `Cannot verify caller tokens: ${reason}`, {
    detail: 'The service cannot verify access tokens right now. Retry shortly.',
    diagnosis: reason,
    fix: 'Check AUTH_TENANT_ID and AUTH_AUTHORITY_HOST, and that the function can reach the Entra authority host.',
    retryAfterSeconds,
    cause,
  });
}

/**
 * Whatever `jwtVerify` threw, as our error: the token's fault is 401, ours or Entra's is 503. For a
 * token refused by its signature, its key or its audience, issuer or tenant, the token's own
 * (unverified) claims say what it is (`describeToken`), for the diagnosis and the caller's detail
 * only: nothing read from them grants anything.
 */
export function classifyVerificationError(error: unknown, context: VerificationContext, token?: string): VendingError {
  if (error instanceof VendingError) return error;
  const seen = token === undefined ? undefined : describeToken(token, context);
  const explained = (reason: string, claim?: RefusedClaim) =>
    seen === undefined
      ? invalidToken(reason, error, claim)
      : invalidToken(`${reason}: ${seen.what}`, error, seen.claim ?? claim, seen.detail);
  if (error instanceof joseErrors.JWTExpired)
    return invalidToken(`token expired: ${claimReason('exp', error.payload, context)}`, error, 'exp');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = REFUSED_CLAIMS.has(error.claim) ? (error.claim as RefusedClaim) : undefined;
    const reason =
      claim === undefined
        ? `claim "${error.claim}" ${error.reason}: ${error.message}`
        : claimReason(error.claim, error.payload, context);
    return claim === 'aud' || claim === 'iss' || claim === 'tid'
      ? explained(reason, claim)
      : invalidToken(reason, error, claim);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return explained(`algorithm not allowed (only RS256): ${error.message}`);
  if (error instanceof joseErrors.JWKSNoMatchingKey) return explained('signed by a key the tenant does not publish');
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return invalidToken('ambiguous signing key', error);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return explained('signature verification failed');
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return invalidToken(`malformed token: ${error.message}`, error);
  if (error instanceof joseErrors.JOSENotSupported) return invalidToken(`unsupported token: ${error.message}`, error);
  if (error instanceof joseErrors.JOSEError)
    return identityProviderUnavailable(`signing keys unavailable: ${error.message}`, error);
  return identityProviderUnavailable(`signing keys unavailable: ${describeError(error)}`, error);
}

/** What a caller that sent an ID token is told. */
export const ID_TOKEN_DETAIL =
  "This is an ID token, which says who signed in; send the access token acquired for this API's scope instead.";

/** What a refused token is, read from its unverified claims: for the log's diagnosis and the caller's detail. */
interface TokenDescription {
  /** For the diagnosis: what the token is, with the claims that say so. */
  readonly what: string;
  /** For the caller: what the token is and what to send instead; no configured value. */
  readonly detail?: string;
  readonly claim?: RefusedClaim;
}

/** A claim as a diagnosis quotes it: a bounded string, whatever the token put there. */
function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? 'missing' : JSON.stringify(value);
  return `"${text.slice(0, 200)}"`;
}

/**
 * What a token that did not verify is, from its own claims (jose's `decodeJwt`, no verification):
 * a Microsoft API's token (Graph's header carries a `nonce` only Graph can undo, so its signature
 * never verifies elsewhere), an ID token, a token from another tenant, or one for another app.
 * `undefined` when it cannot be decoded, or its claims name this API and tenant.
 */
export function describeToken(token: string, context: VerificationContext): TokenDescription | undefined {
  let payload: JWTPayload;
  let headerNonce: boolean;
  try {
    payload = decodeJwt(token);
    headerNonce = decodeProtectedHeader(token).nonce !== undefined;
  } catch {
    return undefined;
  }
  const audiences = (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).filter(
    (a): a is string => typeof a === 'string',
  );
  const claims = (names: readonly string[]) =>
    names
      .filter((name) => payload[name] !== undefined)
      .map((name) => `${name} ${quoted(payload[name])}`)
      .join(', ');
  const api = audiences.map((a) => microsoftApiOf(a)).find((found) => found !== undefined);
  if (api !== undefined) {
    return {
      what: `this is a ${api.name} access token (${claims(['aud', 'scp', 'appid', 'azp'])}${headerNonce ? '; its header carries a nonce, which only Graph can undo, so no one else can verify its signature' : ''}); the client must request a token for this API's scope (${context.audiences[0] ?? 'AUTH_AUDIENCES'}/<scope>) instead`,
      detail: `This is a ${api.name} token, not a token for this API: request a token for this API's scope (MSAL: acquireTokenSilent with this API's scope, not ${api.name}'s) and send that one.`,
      claim: 'aud',
    };
  }
  const accepted = new Set(audienceSpellings(context.audiences).map((a) => a.toLowerCase()));
  const oursByAudience = audiences.some((a) => accepted.has(a.toLowerCase()));
  const clientApp = payload.azp ?? payload.appid;
  const idToken =
    clientApp === undefined &&
    (payload.nonce !== undefined ||
      payload.at_hash !== undefined ||
      (payload.scp === undefined && payload.roles === undefined));
  if (idToken) {
    return {
      what: `this is an ID token (${claims(['aud', 'ver'])}${payload.nonce === undefined ? '' : ', a nonce'}; no azp or appid, which every access token has): the client sent the token that says who signed in, not the access token for this API`,
      detail: ID_TOKEN_DETAIL,
    };
  }
  if (typeof payload.tid === 'string' && payload.tid.toLowerCase() !== context.tenantId.toLowerCase()) {
    return {
      what: `the token is from another tenant (${claims(['tid', 'iss'])}), not ${context.tenantId} (AUTH_TENANT_ID)`,
      claim: 'tid',
    };
  }
  if (!oursByAudience) {
    return {
      what: `the token is for another application (${claims(['aud', 'scp', 'roles'])}), not this API (${context.audiences.join(', ')})${audienceHint(audiences, context)}`,
      claim: 'aud',
    };
  }
  if (typeof payload.iss === 'string' && !context.issuers.includes(payload.iss)) {
    return { what: `the token names this API but was issued by ${quoted(payload.iss)}, another authority or cloud` };
  }
  return undefined;
}

/**
 * A GUID audience that differs from every configured GUID: perhaps the app's Object ID was
 * configured where its Application (client) ID belongs (both are on the app's Overview page).
 */
function audienceHint(received: readonly string[], context: VerificationContext): string {
  const configured = context.audiences.filter(isGuid);
  return received.some(isGuid) && configured.length > 0
    ? `; if that GUID is this API's own, AUTH_AUDIENCES holds another GUID for it (${configured.join(', ')}): an Object ID where the Application (client) ID belongs?`
    : '';
}
