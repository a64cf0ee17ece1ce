import { invalidToken, missingToken } from './authFailure.js';

/** Entra access tokens are a few kilobytes; a header beyond this is not one. */
const MAX_TOKEN_LENGTH = 16 * 1024;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** header.payload.signature, each base64url without padding (RFC 7515 §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.([A-Za-z0-9_-]*)$/;

/**
 * The token of an `Authorization: Bearer <token>` header, checked for shape before anything else
 * looks at it: bounded, a compact JWS, and its signature in its one canonical spelling.
 */
export function bearerToken(authorization: string | null | undefined): string {
  if (!authorization) throw missingToken();
  if (authorization.length > MAX_TOKEN_LENGTH + 64) throw invalidToken('token is longer than any Entra access token');
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) throw invalidToken('Authorization header is not "Bearer <token>"');
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('token is longer than any Entra access token');
  const signature = COMPACT_JWS.exec(token)?.[1];
  if (signature === undefined) throw invalidToken('malformed token: not a compact JWS (three base64url parts)');
  // The last base64url character of a signature carries bits the decoder ignores, so up to 16
  // strings decode to the same signature and all verify. Only the canonical one is accepted: one
  // token, one spelling, one entry in the verified-token cache.
  if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) {
    throw invalidToken('signature is not in canonical base64url (unused bits set in its last character)');
  }
  return token;
}
