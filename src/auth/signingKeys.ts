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

  #due(): boolean {
    const interval =
      this.#current === undefined ? (this.#options.retryWithoutKeysMs ?? 5000) : (this.#options.cooldownMs ?? 30_000);
    return this.#now() - this.#lastAttemptAt >= interval;
  }

  /** Joins the fetch in flight, or starts one if the last attempt is old enough; never throws. */
  #refreshIfDue(correlation?: RequestCorrelation): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    if (!this.#due()) return Promise.resolve();
    this.#pending = this.#fetch(correlation)
      .then(
        (resolve) => {
          this.#current = { resolve, fetchedAt: this.#now() };
          this.#lastFailure = undefined;
        },
        (error: unknown) => {
          const failure = keySetUnavailable(this.#options.url, error);
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

  async #fetch(correlation: RequestCorrelation | undefined): Promise<KeyResolver> {
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
          await response.body?.cancel();
          throw new Error(`HTTP ${response.status}`);
        }
        return readBoundedJson(response, MAX_KEY_SET_BYTES);
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
    return createLocalJWKSet({ keys });
  }
}

function keySetUnavailable(url: URL, error: unknown): VendingError {
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  const networkCause = error instanceof Error && error.cause instanceof Error ? ` (${describeError(error.cause)})` : '';
  const reason = timedOut ? 'no answer in time' : `${describeError(error)}${networkCause}`;
  return identityProviderUnavailable(`fetching the signing key set (JWKS) at ${url.href} failed: ${reason}`, error);
}
