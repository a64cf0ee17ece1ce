import { jwtVerify } from 'jose';
import { z } from 'zod';
import { CLOUDS } from '../clouds/clouds.js';
import { isLoopbackHost } from '../http/urls.js';
import { describeError, type VendingError } from '../errors/serviceError.js';
import { retryAfterOf, retryAfterSeconds } from '../http/retryAfter.js';
import { untrustedCertificate } from '../http/tlsTrust.js';
import { readBoundedJson } from '../http/upstreamBody.js';
import type { AuthConfig } from '../model.js';
import { noAnswer, type RequestCorrelation, type Telemetry } from '../telemetry/telemetry.js';
import { withTimeout } from '../timeout.js';
import {
  classifyVerificationError,
  ID_TOKEN_DETAIL,
  identityProviderUnavailable,
  invalidToken,
} from './authFailure.js';
import { audienceSpellings } from './audienceSpellings.js';
import { bearerToken } from './bearerToken.js';
import { SigningKeySet } from './signingKeys.js';

export interface Caller {
  /** `oid` (the user or service principal object id), else `sub`: the key for rate limiting. */
  readonly id: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  /** The client application that obtained the token (`azp` in v2.0, `appid` in v1.0). */
  readonly clientAppId: string;
}

/** Which client applications may call is authorization's (`access/clientApps.ts`), not verification's. */
export interface CallerAuthenticatorOptions extends Omit<AuthConfig, 'allowedClientApps'> {
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  /** Tolerated clock difference with Entra for `exp`/`nbf`, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /** How long to wait for OIDC discovery, in ms. Default 5000. */
  readonly discoveryTimeoutMs?: number;
  /**
   * Minimum time between two key-set (JWKS) fetches, in ms, timed from each attempt, failed ones
   * included. Default 30000: a new signing key is picked up on first use, but a flood of forged
   * kids cannot hammer Entra, least of all while it is failing.
   */
  readonly jwksCooldownMs?: number;
  /** Age after which the key set is fetched again, in ms; the last good set is used while that fails. Default 10 minutes. */
  readonly jwksMaxAgeMs?: number;
  /**
   * Verified tokens remembered so a client reusing its token skips the RSA verification: until
   * their own `exp`, at most 10 minutes, and only while their signing key is still published.
   * Default 10000; 0 turns it off.
   */
  readonly verifiedTokenCacheSize?: number;
  /**
   * After a failed discovery, callers get 503 at once for this long (timed from the attempt)
   * instead of each retrying. Default 5000 ms. A discovery that succeeded is kept for good.
   */
  readonly discoveryRetryAfterMs?: number;
  /** Told when refreshing the key set fails while the last good one is still in use (at most once per cooldown). */
  readonly onSigningKeysRefreshFailure?: (error: VendingError) => void;
  /** Times discovery and key set fetches. */
  readonly telemetry?: Pick<Telemetry, 'upstreamCall'>;
}

/** A tenant's discovery document is a few kilobytes. */
const MAX_DISCOVERY_BYTES = 64 * 1024;

const discoveryDocument = z.object({ issuer: z.string().min(1).max(2048), jwks_uri: z.url().max(2048) });

/** The longest a verified token is taken on trust before it is verified again, in ms. */
const VERIFIED_TOKEN_MAX_AGE_MS = 10 * 60_000;

/**
 * The longest lifetime an Entra access token has, in seconds: 28 hours, for clients capable of
 * continuous access evaluation (Entra "Configurable token lifetimes" and "Continuous access
 * evaluation"); others get 60-90 minutes. A longer one is not Entra's, whoever signed it.
 */
const MAX_TOKEN_LIFETIME_SECONDS = 28 * 3600;

/** A verified token, remembered: who it is, until when, and the key that signed it. */
interface VerifiedToken {
  readonly caller: Caller;
  /** Epoch ms: the token's `exp` (plus the tolerated skew), at most 10 minutes after verification. */
  readonly expiresAt: number;
  /** The signing key's `kid`; a token without one is not remembered. */
  readonly kid: string | undefined;
  readonly keys: SigningKeySet;
}

// Bounds far above what Entra issues (GUIDs, short role and scope names): the claims reach the
// rate limiter's keys, the authorization check and the log.
const accessTokenClaims = z.object({
  exp: z.number(),
  tid: z.string().min(1).max(64),
  oid: z.string().min(1).max(128).optional(),
  sub: z.string().min(1).max(256).optional(),
  roles: z.array(z.string().max(256)).max(500).optional(),
  scp: z.string().max(8192).optional(),
  azp: z.string().min(1).max(128).optional(),
  appid: z.string().min(1).max(128).optional(),
  nonce: z.unknown().optional(),
  iat: z.number().optional(),
});

interface Discovered {
  readonly issuers: readonly string[];
  readonly keys: SigningKeySet;
}

/**
 * Verifies Entra ID access tokens: RS256 signature by the tenant's published keys (found through
 * OIDC discovery), issuer (v2.0 or v1.0), audience, lifetime and tenant.
 */
export class CallerAuthenticator {
  readonly #options: CallerAuthenticatorOptions;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  #discovered: Promise<Discovered> | undefined;
  /** Until when a failed discovery is held (epoch ms): `discoveryRetryAfterMs`, or Entra's `Retry-After` up to a minute. */
  #discoveryHeldUntil = -Infinity;
  /** What the last failed discovery's answer asked to wait (`Retry-After`, capped), in ms. */
  #discoveryAskedMs = 0;
  /** The last failed discovery's error when it is one to repeat while held (`tls_untrusted`). */
  #discoveryFailure: VendingError | undefined;
  readonly #verified = new Map<string, VerifiedToken>();

  constructor(options: CallerAuthenticatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * Fetches the discovery document, then the signing keys, ahead of the first caller (instance
   * start). Throws `identity_provider_unavailable` as verification would; a later call retries.
   */
  async warmUp(): Promise<void> {
    const { keys } = await this.#discover();
    await keys.warmUp();
  }

  /**
   * The caller behind an `Authorization` header value. Throws `missing_token`, `invalid_token`, or
   * `identity_provider_unavailable` when no token can be checked right now.
   */
  async authenticate(authorization: string | null | undefined, correlation?: RequestCorrelation): Promise<Caller> {
    // Looked up by the whole header before any parsing: a header byte for byte the same as one
    // already verified holds the same token, so the warm path is one map lookup.
    const remembered = authorization ? this.#verified.get(authorization) : undefined;
    if (remembered !== undefined && authorization) {
      const { caller, expiresAt, keys, kid } = remembered;
      if (this.#now() < expiresAt && kid !== undefined && keys.publishes(kid)) return caller;
      this.#verified.delete(authorization);
    }
    const token = bearerToken(authorization);
    const verified = await this.#verify(token, correlation);
    // bearerToken accepted it, so the header is a string.
    this.#remember(authorization ?? token, verified);
    return verified.caller;
  }

  /**
   * Same token, same answer: the signature and claims were checked once. An entry lives until the
   * token's own `exp` (plus the tolerated skew) but at most 10 minutes, and is dropped as soon as
   * its signing key leaves the tenant's key set (a key Entra withdrew signs nothing any more). A
   * token that names no `kid` is not remembered.
   */
  #remember(header: string, verified: VerifiedToken): void {
    const capacity = this.#options.verifiedTokenCacheSize ?? 10_000;
    if (capacity === 0 || verified.kid === undefined) return;
    if (this.#verified.size >= capacity) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(header, verified);
  }

  async #verify(token: string, correlation: RequestCorrelation | undefined): Promise<VerifiedToken> {
    const { issuers, keys } = await this.#discover(correlation);
    const { tenantId, audiences } = this.#options;
    let payload: unknown;
    let kid: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jwtVerify(token, (header, input) => keys.getKey(header, input, correlation), {
        algorithms: ['RS256'],
        issuer: [...issuers],
        audience: audienceSpellings(audiences),
        clockTolerance: this.#clockToleranceSeconds(),
        currentDate: new Date(this.#now()),
        requiredClaims: ['exp', 'tid'],
      }));
    } catch (error) {
      throw classifyVerificationError(
        error,
        { tenantId, audiences, issuers, now: this.#now(), clockToleranceSeconds: this.#clockToleranceSeconds() },
        token,
      );
    }
    const claims = accessTokenClaims.safeParse(payload);
    if (!claims.success) {
      throw invalidToken(
        `claims malformed: ${claims.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')}`,
      );
    }
    const { tid, oid, sub, roles, scp, azp, appid, nonce, exp, iat } = claims.data;
    const nowSeconds = this.#now() / 1000;
    const lifetimeSeconds = Math.max(exp - nowSeconds, iat === undefined ? 0 : exp - iat);
    if (lifetimeSeconds > MAX_TOKEN_LIFETIME_SECONDS) {
      throw invalidToken(
        `lifetime of ${Math.round(lifetimeSeconds / 3600)} hours (iat ${iat === undefined ? 'missing' : new Date(iat * 1000).toISOString()}, exp ${new Date(exp * 1000).toISOString()}): longer than the ${MAX_TOKEN_LIFETIME_SECONDS / 3600} hours Entra issues; refused`,
      );
    }
    if (tid !== tenantId) {
      throw invalidToken(`claim "tid" is "${tid}", accepted: ${tenantId} (AUTH_TENANT_ID)`, undefined, 'tid');
    }
    // Only access tokens are credentials. An ID token for an app registration that is both SPA
    // and API has this API's client ID as `aud` and may carry its app roles, but it names no
    // client application: Entra puts `azp` (v2.0) or `appid` (v1.0) in every access token and
    // in no ID token.
    const clientAppId = azp ?? appid;
    if (clientAppId === undefined) {
      throw invalidToken(
        `not an access token: neither azp (v2.0) nor appid (v1.0)${nonce === undefined ? '' : ', and a nonce: an ID token'}`,
        undefined,
        undefined,
        ID_TOKEN_DETAIL,
      );
    }
    const id = oid ?? sub;
    if (id === undefined) throw invalidToken('token has neither oid nor sub');
    const caller: Caller = {
      id,
      tenantId: tid,
      roles: roles ?? [],
      scopes: (scp ?? '').split(' ').filter(Boolean),
      clientAppId,
    };
    const expiresAt = Math.min((exp + this.#clockToleranceSeconds()) * 1000, this.#now() + VERIFIED_TOKEN_MAX_AGE_MS);
    return { caller, expiresAt, keys, kid };
  }

  #clockToleranceSeconds(): number {
    return this.#options.clockToleranceSeconds ?? 60;
  }

  /**
   * The discovery in hand or in flight; a failed one is retried only after `discoveryRetryAfterMs`
   * from the attempt, or as long as Entra asked (`Retry-After`, at most a minute), and callers are
   * told what remains of that.
   */
  #discover(correlation?: RequestCorrelation): Promise<Discovered> {
    if (this.#discovered === undefined) {
      const heldMs = this.#discoveryHeldUntil - this.#now();
      // A refused certificate is said again as it was: "failed moments ago" would hide the cause.
      if (heldMs > 0 && this.#discoveryFailure !== undefined) return Promise.reject(this.#discoveryFailure);
      if (heldMs > 0) {
        return Promise.reject(
          identityProviderUnavailable(
            'OIDC discovery failed moments ago; not retrying yet',
            undefined,
            retryAfterSeconds(heldMs),
          ),
        );
      }
      this.#discovered = this.#fetchDiscovery(correlation).catch((error: unknown) => {
        this.#discovered = undefined;
        const holdMs = Math.max(this.#options.discoveryRetryAfterMs ?? 5000, this.#discoveryAskedMs);
        this.#discoveryHeldUntil = this.#now() + holdMs;
        throw error;
      });
    }
    return this.#discovered;
  }

  async #fetchDiscovery(correlation: RequestCorrelation | undefined): Promise<Discovered> {
    const { authorityHost, tenantId, cloud } = this.#options;
    const url = `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`;
    let document: z.infer<typeof discoveryDocument>;
    const call = this.#options.telemetry?.upstreamCall(
      'discovery',
      { method: 'GET', host: new URL(url).host },
      correlation,
    );
    let status: number | undefined;
    let askedMs: number | undefined;
    this.#discoveryAskedMs = 0;
    this.#discoveryFailure = undefined;
    try {
      document = await withTimeout(this.#options.discoveryTimeoutMs ?? 5000, async (signal) => {
        const response = await this.#fetch(url, { signal, headers: { accept: 'application/json' } });
        status = response.status;
        if (!response.ok) {
          askedMs = retryAfterOf(response.headers, this.#now());
          this.#discoveryAskedMs = askedMs ?? 0;
          await response.body?.cancel();
          throw new Error(`HTTP ${response.status} from ${url}; check AUTH_TENANT_ID and AUTH_AUTHORITY_HOST`);
        }
        const parsed = discoveryDocument.safeParse(await readBoundedJson(response, MAX_DISCOVERY_BYTES, signal));
        if (!parsed.success) {
          throw new Error(
            `the answer is not an OpenID configuration (issuer, jwks_uri) of at most ${MAX_DISCOVERY_BYTES} bytes`,
          );
        }
        return parsed.data;
      });
      call?.end({ status });
    } catch (error) {
      const untrusted = untrustedCertificate(error, 'Entra ID', new URL(url).host);
      this.#discoveryFailure = untrusted;
      const failure =
        untrusted ??
        identityProviderUnavailable(
          `OIDC discovery at ${url} failed: ${describeError(error)}${askedMs === undefined ? '' : ` (Retry-After: ${retryAfterSeconds(askedMs)} s, at most a minute is honoured)`}`,
          error,
          askedMs === undefined ? undefined : retryAfterSeconds(askedMs),
        );
      call?.end({ status, failure: status === undefined ? noAnswer(error) : undefined, code: failure.code });
      throw failure;
    }
    const jwksUri = new URL(document.jwks_uri);
    if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && isLoopbackHost(jwksUri.hostname))) {
      throw identityProviderUnavailable(`discovery at ${url} named a jwks_uri that is not https: ${jwksUri.href}`);
    }
    const keys = new SigningKeySet({
      url: jwksUri,
      fetch: this.#fetch,
      now: this.#now,
      ...(this.#options.jwksCooldownMs === undefined ? {} : { cooldownMs: this.#options.jwksCooldownMs }),
      ...(this.#options.jwksMaxAgeMs === undefined ? {} : { maxAgeMs: this.#options.jwksMaxAgeMs }),
      ...(this.#options.onSigningKeysRefreshFailure === undefined
        ? {}
        : { onRefreshFailure: this.#options.onSigningKeysRefreshFailure }),
      ...(this.#options.telemetry === undefined ? {} : { telemetry: this.#options.telemetry }),
    });
    const v1Issuers = CLOUDS[cloud].v1IssuerHosts.map((host) => `https://${host}/${tenantId}/`);
    return { issuers: [document.issuer, ...v1Issuers], keys };
  }
}
