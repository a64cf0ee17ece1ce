import {
  createLocalJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JWK,
  type JWSHeaderParameters,
  type CryptoKey,
} from 'jose';
import { z } from 'zod';
import { describeError, type VendingError } from '../errors/serviceError.js';
import { retryAfterOf, retryAfterSeconds } from '../http/retryAfter.js';
import { untrustedCertificate } from '../http/tlsTrust.js';
import { readBoundedJson } from '../http/upstreamBody.js';
import { noAnswer, type RequestCorrelation, type Telemetry } from '../telemetry/telemetry.js';
import { withTimeout } from '../timeout.js';
import { identityProviderUnavailable } from './authFailure.js';

export interface SigningKeySetOptions {
  /** The tenant's `jwks_uri`, from OIDC discovery. */
  readonly url: URL;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  /** One fetch's limit, in ms. Default 5000. */
  readonly timeoutMs?: number;
  /**
   * Minimum time between two fetches while a key set is in hand, in ms, timed from the end of the
   * last attempt whether it succeeded or not. Default 30000: a new signing key is picked up on
   * first use, but neither a flood of forged `kid`s nor an Entra outage turns into a flood of
   * fetches.
   */
  readonly cooldownMs?: number;
  /**
   * Minimum time between two fetches while no key set was ever fetched, in ms. Default 5000:
   * shorter than the cooldown because until one succeeds every caller is refused.
   */
  readonly retryWithoutKeysMs?: number;
  /**
   * Age of the key set after which it is fetched again before use, in ms. Default 10 minutes. While
   * that fetch fails the last good set stays in use, however old: Entra's keys roll over in weeks.
   */
  readonly maxAgeMs?: number;
  /** Told of each failed fetch while callers are still served from the last good set. */
  readonly onRefreshFailure?: (error: VendingError) => void;
  /** Times each fetch. */
  readonly telemetry?: Pick<Telemetry, 'upstreamCall'>;
}

/** Entra answers with a few kilobytes; anything this large is not its key set. */
const MAX_KEY_SET_BYTES = 256 * 1024;
const MAX_KEYS = 100;

const keySetDocument = z.object({
  keys: z
    .array(
      z.looseObject({
        kty: z.string(),
        use: z.string().optional(),
        kid: z.string().max(256).optional(),
        n: z.string().max(4096).optional(),
        e: z.string().max(16).optional(),
      }),
    )
    .max(MAX_KEYS),
});

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

interface FetchedKeySet {
  readonly resolve: KeyResolver;
  /** The `kid`s the set publishes. */
  readonly kids: ReadonlySet<string>;
  readonly fetchedAt: number;
}

/**
 * The tenant's signing keys, fetched from its JWKS with our clock and our fetch. Unlike jose's
 * `createRemoteJWKSet`, which remembers only successes, it times its cooldown from every attempt
 * and keeps serving the last good set while refreshes fail; one fetch at a time is shared by all
 * callers.
 */
export class SigningKeySet {
  readonly #options: SigningKeySetOptions;
  #current: FetchedKeySet | undefined;
  #lastAttemptAt = -Infinity;
  #lastFailure: VendingError | undefined;
  /** How long Entra asked the last failed fetch to wait (`Retry-After`, at most a minute), in ms. */
  #askedMs = 0;
  #pending: Promise<void> | undefined;

  constructor(options: SigningKeySetOptions) {
    this.#options = options;
  }

  /**
   * The key a token names, for `jwtVerify`. An unknown `kid` refetches the set once the cooldown
   * has passed; inside it, or when the refetch fails, the token is simply not signed by a key we
   * know (jose's `JWKSNoMatchingKey`, a 401). Throws `identity_provider_unavailable` only while no
   * key set was ever fetched.
   */
  readonly getKey = async (
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
    correlation?: RequestCorrelation,
  ): Promise<CryptoKey> => {
    const current = this.#current;
    if (current === undefined || this.#now() - current.fetchedAt >= (this.#options.maxAgeMs ?? 10 * 60_000)) {
      await this.#refreshIfDue(correlation);
    }
    const resolve = this.#keys().resolve;
    try {
      return await resolve(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || !this.#due()) throw error;
      await this.#refreshIfDue(correlation);
      return this.#keys().resolve(header, token);
    }
  };

  /** Whether the key set in hand publishes this `kid` (false while none was fetched). */
  publishes(kid: string): boolean {
    return this.#current?.kids.has(kid) ?? false;
  }

  /**
   * Fetches the set now unless a fetch is in flight or the last attempt is too recent (instance
   * start). Throws `identity_provider_unavailable` when there is still no set.
   */
  async warmUp(): Promise<void> {
    await this.#refreshIfDue();
    this.#keys();
  }

  #keys(): FetchedKeySet {
    if (this.#current !== undefined) return this.#current;
    throw this.#lastFailure ?? identityProviderUnavailable('the signing key set (JWKS) was never fetched');
  }

  #now(): number {
    return this.#options.now();
  }

  /** Whether a fetch may start: the interval since the last attempt, or Entra's `Retry-After` when longer. */
  #due(): boolean {
    const interval =
      this.#current === undefined ? (this.#options.retryWithoutKeysMs ?? 5000) : (this.#options.cooldownMs ?? 30_000);
    return this.#now() - this.#lastAttemptAt >= Math.max(interval, this.#askedMs);
  }

  /** Joins the fetch in flight, or starts one if the last attempt is old enough; never throws. */
  #refreshIfDue(correlation?: RequestCorrelation): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    if (!this.#due()) return Promise.resolve();
    this.#pending = this.#fetch(correlation)
      .then(
        ({ resolve, kids }) => {
          this.#current = { resolve, kids, fetchedAt: this.#now() };
          this.#lastFailure = undefined;
          this.#askedMs = 0;
        },
        (error: unknown) => {
          this.#askedMs = error instanceof KeySetRefused ? (error.retryAfterMs ?? 0) : 0;
          const failure =
            untrustedCertificate(error, 'Entra ID', this.#options.url.host) ??
            keySetUnavailable(this.#options.url, error, this.#askedMs);
          this.#lastFailure = failure;
          if (this.#current !== undefined) this.#options.onRefreshFailure?.(failure);
        },
      )
      .finally(() => {
        this.#lastAttemptAt = this.#now();
        this.#pending = undefined;
      });
    return this.#pending;
  }

  async #fetch(correlation: RequestCorrelation | undefined): Promise<Omit<FetchedKeySet, 'fetchedAt'>> {
    const { url, timeoutMs = 5000 } = this.#options;
    const call = this.#options.telemetry?.upstreamCall('jwks', { method: 'GET', host: url.host }, correlation);
    let status: number | undefined;
    let json: unknown;
    try {
      json = await withTimeout(timeoutMs, async (signal) => {
        const response = await this.#options.fetch(url, {
          signal,
          redirect: 'manual',
          headers: { accept: 'application/json, application/jwk-set+json' },
        });
        status = response.status;
        if (response.status !== 200) {
          const retryAfterMs = retryAfterOf(response.headers, this.#now());
          await response.body?.cancel();
          throw new KeySetRefused(response.status, retryAfterMs);
        }
        return readBoundedJson(response, MAX_KEY_SET_BYTES, signal);
      });
      call?.end({ status });
    } catch (error) {
      // The failure is classified by the caller (keySetUnavailable): its one code is known here.
      call?.end({
        status,
        failure: status === undefined ? noAnswer(error) : undefined,
        code: 'identity_provider_unavailable',
      });
      throw error;
    }
    const parsed = keySetDocument.safeParse(json);
    if (!parsed.success) throw new Error(`the answer is not a JSON Web Key Set of at most ${MAX_KEY_SET_BYTES} bytes`);
    const keys: JWK[] = parsed.data.keys
      .filter((key) => key.kty === 'RSA' && (key.use === undefined || key.use === 'sig'))
      .flatMap(({ kid, n, e }) =>
        n === undefined || e === undefined
          ? []
          : [{ kty: 'RSA', use: 'sig', n, e, ...(kid === undefined ? {} : { kid }) }],
      );
    if (keys.length === 0) throw new Error('the key set holds no RSA signing key');
    return {
      resolve: createLocalJWKSet({ keys }),
      kids: new Set(keys.flatMap(({ kid }) => (kid === undefined ? [] : [kid]))),
    };
  }
}

/** The key set endpoint answered, with another status than 200, and perhaps how long to wait. */
class KeySetRefused extends Error {
  constructor(
    status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

/** The failure callers get while no key set was ever fetched: told to wait what Entra asked, else 5 s. */
function keySetUnavailable(url: URL, error: unknown, askedMs: number): VendingError {
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  const networkCause = error instanceof Error && error.cause instanceof Error ? ` (${describeError(error.cause)})` : '';
  const reason = timedOut ? 'no answer in time' : `${describeError(error)}${networkCause}`;
  const asked = askedMs > 0 ? ` (Retry-After: ${retryAfterSeconds(askedMs)} s, at most a minute is honoured)` : '';
  return identityProviderUnavailable(
    `fetching the signing key set (JWKS) at ${url.href} failed: ${reason}${asked}`,
    error,
    askedMs > 0 ? retryAfterSeconds(askedMs) : undefined,
  );
}
