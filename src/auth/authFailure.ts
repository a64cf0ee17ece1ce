import { errors as joseErrors } from 'jose';
import { describeError, VendingError } from '../errors/serviceError.js';

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
export function invalidToken(reason: string, cause?: unknown, claim?: RefusedClaim): VendingError {
  return new VendingError('invalid_token', `Caller token rejected: ${reason}`, {
    detail:
      claim === undefined
        ? 'The access token is missing, malformed, expired or not issued for this API. Acquire a new token for this API and retry.'
        : CLAIM_DETAIL[claim],
    diagnosis: reason,
    cause,
  });
}

/** What the verifier expected, to say what a refused claim should have been. */
export interface VerificationContext {
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

/** Whatever `jwtVerify` threw, as our error: the token's fault is 401, ours or Entra's is 503. */
export function classifyVerificationError(error: unknown, context: VerificationContext): VendingError {
  if (error instanceof VendingError) return error;
  if (error instanceof joseErrors.JWTExpired)
    return invalidToken(`token expired: ${claimReason('exp', error.payload, context)}`, error, 'exp');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = REFUSED_CLAIMS.has(error.claim) ? (error.claim as RefusedClaim) : undefined;
    return invalidToken(
      claim === undefined
        ? `claim "${error.claim}" ${error.reason}: ${error.message}`
        : claimReason(error.claim, error.payload, context),
      error,
      claim,
    );
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return invalidToken(`algorithm not allowed (only RS256): ${error.message}`, error);
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return invalidToken('signed by a key the tenant does not publish', error);
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return invalidToken('ambiguous signing key', error);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return invalidToken('signature verification failed', error);
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return invalidToken(`malformed token: ${error.message}`, error);
  if (error instanceof joseErrors.JOSENotSupported) return invalidToken(`unsupported token: ${error.message}`, error);
  if (error instanceof joseErrors.JOSEError)
    return identityProviderUnavailable(`signing keys unavailable: ${error.message}`, error);
  return identityProviderUnavailable(`signing keys unavailable: ${describeError(error)}`, error);
}
