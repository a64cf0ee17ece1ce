import { errors as joseErrors } from 'jose';
import { describeError, VendingError } from '../errors.js';

/** No `Authorization` header at all: 401 with a bare `Bearer` challenge. */
export function missingToken(): VendingError {
  return new VendingError('missing_token', 'An Entra ID access token is required.', {
    detail: 'Send an Entra ID access token for this API in the Authorization header: "Authorization: Bearer <token>".',
  });
}

/** A token we refuse; the reason goes to the log only, the caller gets one stable detail. */
export function invalidToken(reason: string, cause?: unknown): VendingError {
  return new VendingError('invalid_token', `Caller token rejected: ${reason}`, {
    detail:
      'The access token is missing, malformed, expired or not issued for this API. Acquire a new token for this API and retry.',
    diagnosis: reason,
    cause,
  });
}

/** We cannot check any token right now (discovery or the key set failed): 503, retry shortly. */
export function identityProviderUnavailable(reason: string, cause?: unknown): VendingError {
  return new VendingError('identity_provider_unavailable', `Cannot verify caller tokens: ${reason}`, {
    detail: 'The service cannot verify access tokens right now. Retry shortly.',
    diagnosis: reason,
    fix: 'Check AUTH_TENANT_ID and AUTH_AUTHORITY_HOST, and that the function can reach the Entra authority host.',
    retryAfterSeconds: 5,
    cause,
  });
}

/** Whatever `jwtVerify` threw, as our error: the token's fault is 401, ours or Entra's is 503. */
export function classifyVerificationError(error: unknown): VendingError {
  if (error instanceof VendingError) return error;
  if (error instanceof joseErrors.JWTExpired) return invalidToken('token expired', error);
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return invalidToken(`claim "${error.claim}" ${error.reason}: ${error.message}`, error);
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
