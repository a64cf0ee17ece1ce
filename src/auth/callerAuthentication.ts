import { describeError } from '../errors.js';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { CLOUDS } from '../clouds/clouds.js';
import type { AuthConfig } from '../model.js';
import { isLoopbackHost } from '../config/urls.js';
import { VendingError } from '../errors.js';
import { withTimeout } from '../timeout.js';

export interface Caller {
  /** `oid` (the user or service principal object id), else `sub`: the key for rate limiting. */
  readonly id: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  /** The client application that obtained the token (`azp` in v2.0, `appid` in v1.0). */
  readonly clientAppId: string | undefined;
}

export interface CallerAuthenticatorOptions extends AuthConfig {
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  /** Tolerated clock difference with Entra for `exp`/`nbf`, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /** How long to wait for OIDC discovery, in ms. Default 5000. */
  readonly discoveryTimeoutMs?: number;
  /**
   * Minimum time between JWKS fetches triggered by unknown `kid`s, in ms. Default 30000: a new
   * signing key is picked up on first use, but a flood of forged kids cannot hammer Entra.
   */
  readonly jwksCooldownMs?: number;
  /**
   * Verified tokens remembered (until their own `exp`) so a client reusing its token skips the
   * RSA verification. Default 10000; 0 turns it off.
   */
  readonly verifiedTokenCacheSize?: number;
  /** After a failed discovery, callers get 503 at once for this long instead of each retrying. Default 5000 ms. */
  readonly discoveryRetryAfterMs?: number;
}

const discoveryDocument = z.object({ issuer: z.string().min(1), jwks_uri: z.url() });

const accessTokenClaims = z.object({
  exp: z.number(),
  tid: z.string().min(1),
  oid: z.string().min(1).optional(),
  sub: z.string().min(1).optional(),
  roles: z.array(z.string()).optional(),
  scp: z.string().optional(),
  azp: z.string().optional(),
  appid: z.string().optional(),
});

const MAX_TOKEN_LENGTH = 16 * 1024;

interface SigningKeys {
  readonly issuers: readonly string[];
  readonly keys: ReturnType<typeof createRemoteJWKSet>;
}

/**
 * Verifies Entra ID access tokens: RS256 signature by the tenant's published keys (found through
 * OIDC discovery), issuer (v2.0 or v1.0), audience, lifetime and tenant.
 */
export class CallerAuthenticator {
  readonly #options: CallerAuthenticatorOptions;
  readonly #now: () => number;
  #signingKeys: Promise<SigningKeys> | undefined;
  #discoveryFailedAt = -Infinity;
  readonly #verified = new Map<string, { readonly caller: Caller; readonly expiresAt: number }>();

  constructor(options: CallerAuthenticatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Fetches the discovery document, then the signing keys, ahead of the first caller (instance
   * start). Throws `identity_provider_unavailable` as verification would; a later call retries.
   */
  async warmUp(): Promise<void> {
    const { keys } = await this.#getSigningKeys();
    try {
      await keys.reload();
    } catch (error) {
      throw classifyVerificationError(error);
    }
  }

  async authenticate(authorization: string | null | undefined): Promise<Caller> {
    const token = bearerToken(authorization);
    const remembered = this.#verified.get(token);
    if (remembered !== undefined) {
      if (this.#now() < remembered.expiresAt) return remembered.caller;
      this.#verified.delete(token);
    }
    const { caller, expiresAt } = await this.#verify(token);
    this.#remember(token, caller, expiresAt);
    return caller;
  }

  /**
   * Same token, same answer: the signature and claims were checked once. Only expiry changes
   * with time, so an entry lives until the token's own `exp` (plus the tolerated skew).
   */
  #remember(token: string, caller: Caller, expiresAt: number): void {
    const capacity = this.#options.verifiedTokenCacheSize ?? 10_000;
    if (capacity === 0) return;
    if (this.#verified.size >= capacity) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(token, { caller, expiresAt });
  }

  async #verify(token: string): Promise<{ caller: Caller; expiresAt: number }> {
    const { issuers, keys } = await this.#getSigningKeys();
    const { tenantId, audiences } = this.#options;
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ['RS256'],
        issuer: [...issuers],
        audience: [...audiences],
        clockTolerance: this.#clockToleranceSeconds(),
        currentDate: new Date(this.#now()),
        requiredClaims: ['exp', 'tid'],
      }));
    } catch (error) {
      throw classifyVerificationError(error);
    }
    const claims = accessTokenClaims.safeParse(payload);
    if (!claims.success) {
      throw invalidToken(
        `claims malformed: ${claims.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')}`,
      );
    }
    const { tid, oid, sub, roles, scp, azp, appid, exp } = claims.data;
    if (tid !== tenantId) throw invalidToken(`token is from tenant ${tid}, only ${tenantId} is accepted`);
    const id = oid ?? sub;
    if (id === undefined) throw invalidToken('token has neither oid nor sub');
    const caller: Caller = {
      id,
      tenantId: tid,
      roles: roles ?? [],
      scopes: (scp ?? '').split(' ').filter(Boolean),
      clientAppId: azp ?? appid,
    };
    return { caller, expiresAt: (exp + this.#clockToleranceSeconds()) * 1000 };
  }

  #clockToleranceSeconds(): number {
    return this.#options.clockToleranceSeconds ?? 60;
  }

  #getSigningKeys(): Promise<SigningKeys> {
    const retryAfterMs = this.#options.discoveryRetryAfterMs ?? 5000;
    if (this.#signingKeys === undefined) {
      if (this.#now() - this.#discoveryFailedAt < retryAfterMs) {
        return Promise.reject(identityProviderUnavailable('OIDC discovery failed moments ago; not retrying yet'));
      }
      this.#signingKeys = this.#discover().catch((error: unknown) => {
        this.#signingKeys = undefined;
        this.#discoveryFailedAt = this.#now();
        throw error;
      });
    }
    return this.#signingKeys;
  }

  async #discover(): Promise<SigningKeys> {
    const { authorityHost, tenantId, cloud } = this.#options;
    const url = `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`;
    let document: z.infer<typeof discoveryDocument>;
    try {
      document = await withTimeout(this.#options.discoveryTimeoutMs ?? 5000, async (signal) => {
        const response = await (this.#options.fetch ?? fetch)(url, { signal, headers: { accept: 'application/json' } });
        if (!response.ok) {
          throw new Error(`HTTP ${response.status} from ${url}; check AUTH_TENANT_ID and AUTH_AUTHORITY_HOST`);
        }
        return discoveryDocument.parse(await response.json());
      });
    } catch (error) {
      throw identityProviderUnavailable(`OIDC discovery at ${url} failed: ${describeError(error)}`, error);
    }
    const jwksUri = new URL(document.jwks_uri);
    if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && isLoopbackHost(jwksUri.hostname))) {
      throw identityProviderUnavailable(`discovery at ${url} named a jwks_uri that is not https: ${jwksUri.href}`);
    }
    const keys = createRemoteJWKSet(jwksUri, {
      timeoutDuration: 5000,
      cooldownDuration: this.#options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    const v1Issuers = CLOUDS[cloud].v1IssuerHosts.map((host) => `https://${host}/${tenantId}/`);
    return { issuers: [document.issuer, ...v1Issuers], keys };
  }
}

function bearerToken(authorization: string | null | undefined): string {
  if (!authorization) {
    throw new VendingError('missing_token', 'An Entra ID access token is required.', {
      detail:
        'Send an Entra ID access token for this API in the Authorization header: "Authorization: Bearer <token>".',
    });
  }
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
  if (!match?.[1]) throw invalidToken('Authorization header is not "Bearer <token>"');
  if (match[1].length > MAX_TOKEN_LENGTH) throw invalidToken('token is longer than any Entra access token');
  return match[1];
}

function invalidToken(reason: string, cause?: unknown): VendingError {
  return new VendingError('invalid_token', `Caller token rejected: ${reason}`, {
    detail:
      'The access token is missing, malformed, expired or not issued for this API. Acquire a new token for this API and retry.',
    diagnosis: reason,
    cause,
  });
}

function identityProviderUnavailable(reason: string, cause?: unknown): VendingError {
  return new VendingError('identity_provider_unavailable', `Cannot verify caller tokens: ${reason}`, {
    detail: 'The service cannot verify access tokens right now. Retry shortly.',
    diagnosis: reason,
    fix: 'Check AUTH_TENANT_ID and AUTH_AUTHORITY_HOST, and that the function can reach the Entra authority host.',
    retryAfterSeconds: 5,
    cause,
  });
}

function classifyVerificationError(error: unknown): VendingError {
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
  if (error instanceof joseErrors.JWKSTimeout)
    return identityProviderUnavailable('timed out fetching the signing keys (JWKS)', error);
  if (error instanceof joseErrors.JOSENotSupported) return invalidToken(`unsupported token: ${error.message}`, error);
  if (error instanceof joseErrors.JOSEError)
    return identityProviderUnavailable(`signing keys unavailable: ${error.message}`, error);
  return identityProviderUnavailable(`signing keys unavailable: ${describeError(error)}`, error);
}
