import { decodeJwt, decodeProtectedHeader } from 'jose';
import { z } from 'zod';

/**
 * How long an STS token lives: 10 minutes (Azure AI services authentication reference, "Authenticate
 * with an access token"). No STS token is cached or vended for longer, whatever its `exp` says.
 */
export const STS_TOKEN_LIFETIME_MS = 10 * 60_000;

/**
 * The window an STS token's `exp` must fall in, from when it was received, in ms: at least a
 * minute left (less is an expired token, or a clock far off) and at most 15 minutes (10 and some
 * skew: more is not the STS's token).
 */
export const STS_EXP_WINDOW_MS = { min: 60_000, max: 15 * 60_000 } as const;

/** Three non-empty base64url parts: a compact JWS (RFC 7515 §7.1) with a signature. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const claims = z.object({ exp: z.number() });

/** An STS token as read (never verified: it came straight from the STS over TLS). */
export type StsTokenReading =
  | { readonly ok: true; /** Its `exp`, epoch ms. */ readonly expiresAt: number }
  | { readonly ok: false; /** Why it is not a token, for the diagnosis; never the token. */ readonly problem: string };

/**
 * Whether an STS answer's body is a token: a compact JWS whose header names an algorithm (not
 * `none`) and whose payload is a JSON object with a numeric `exp`. Every STS token is one (a JWT
 * signed by the service); `OK`, an HTML page or a bare string is not. The signature is not checked.
 */
export function readStsToken(token: string): StsTokenReading {
  if (!COMPACT_JWS.test(token)) return { ok: false, problem: 'not three base64url parts (a compact JWS)' };
  let payload: unknown;
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg !== 'string' || alg === '' || alg.toLowerCase() === 'none')
      return { ok: false, problem: 'its header names no signing algorithm' };
    payload = decodeJwt(token);
  } catch {
    return { ok: false, problem: 'its header or payload is not base64url JSON' };
  }
  const parsed = claims.safeParse(payload);
  if (!parsed.success) return { ok: false, problem: 'its payload has no numeric exp' };
  return { ok: true, expiresAt: parsed.data.exp * 1000 };
}
