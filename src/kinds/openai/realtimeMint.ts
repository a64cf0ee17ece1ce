import type { AccessToken } from '@azure/core-auth';
import { VendingError } from '../../errors/serviceError.js';
import { postForAnswer } from '../../http/upstreamBody.js';
import { retryAfterOf } from '../../http/retryAfter.js';
import { redactError, redactSecrets } from '../../log/redact.js';
import type { MintedCredential } from '../../model.js';
import { describeKey } from '../../secrets/keyShape.js';
import type { RequestCorrelation } from '../../telemetry/telemetry.js';
import type { KindSteps } from '../kind.js';
import { MintLedger } from '../mintLedger.js';
import {
  classifyMintAnswer,
  classifyMintNetworkFailure,
  identityUnavailable,
  type MintAttempt,
  type MintOutcome,
  type SessionSummary,
} from './realtimeAnswer.js';
import { mintUrl, REALTIME_CLOUDS } from './realtimeHosts.js';
import { configuredVoice, type RealtimeResource } from './realtimeResource.js';

/** Limits of one mint. */
export interface MintPolicy {
  /** One attempt's limit, in ms. Default: the steps' `attemptTimeoutMs`, else 5000. */
  readonly attemptTimeoutMs?: number;
  /** All attempts, waits included, in ms. Default 10000: a browser is waiting. */
  readonly budgetMs?: number;
  /** Default 2: one more try after a 5xx, a timeout or a broken connection; never after a 429. */
  readonly maxAttempts?: number;
}

/** An ephemeral key and the session it opens, as the answer's `session` shows it. */
export interface MintedKey extends MintedCredential {
  readonly answer: { readonly session: SessionSummary };
}

/** The answer carries the session echoed back (instructions, tools): at most this much is read. */
const MAX_ANSWER_BYTES = 128 * 1024;
/** A token of the app's identity is reused until this long before it expires. */
const TOKEN_REUSE_MARGIN_MS = 5 * 60_000;

/**
 * Mints GPT Realtime ephemeral keys: `POST {endpoint}/openai/v1/realtime/client_secrets` (no
 * `api-version`: the v1 surface answers one with 401) with the operator's session, authenticated
 * with the app's managed identity (scope per cloud) or, in key mode, the Key Vault key as
 * `api-key`. One key per call, never cached: each caller gets its own. Retries a 5xx, a timeout or
 * a broken connection once within the budget; a 429 goes back to the caller with Azure's
 * `Retry-After`. In key mode a rejected key makes it read the secret again and retry once, so a
 * rotated key is picked up. Each attempt is an `openai` upstream span; each mint counts in
 * `credential_mints` by outcome.
 */
export class RealtimeMinter {
  readonly #steps: KindSteps;
  /** How each resource's latest mints went, for the status view. */
  readonly ledger: MintLedger;
  readonly #bodies = new WeakMap<RealtimeResource, string>();
  readonly #tokens = new Map<string, Promise<AccessToken>>();

  constructor(steps: KindSteps) {
    this.#steps = steps;
    this.ledger = new MintLedger(steps.now);
  }

  /** One key for one caller. Throws `VendingError` with the kind's codes (`realtimeAnswer.ts`). */
  async mint(
    resource: RealtimeResource,
    correlation?: RequestCorrelation,
    policy: MintPolicy = {},
  ): Promise<MintedKey> {
    try {
      const minted = await this.#mint(resource, correlation, policy);
      this.ledger.succeeded(resource.name);
      this.#count(resource, 'ok');
      return minted;
    } catch (error) {
      const code = error instanceof VendingError ? error.code : 'internal_error';
      this.ledger.failed(resource.name, code);
      this.#count(resource, code);
      throw error;
    }
  }

  async #mint(resource: RealtimeResource, correlation: RequestCorrelation | undefined, policy: MintPolicy) {
    if (resource.auth === 'identity') {
      const token = await this.#identityToken(resource);
      // Taken out of what the upstream says, as a key is: a gateway may quote the header it refused.
      return this.#post(resource, { Authorization: `Bearer ${token}` }, [token], correlation, policy, () =>
        this.#tokens.delete(resource.cloud),
      );
    }
    const secret = await this.#steps.secrets.getSecret(resource.secretName, { correlation });
    try {
      return await this.#withKey(resource, secret.value, correlation, policy);
    } catch (error) {
      if (!(error instanceof VendingError) || error.code !== 'key_rejected') throw error;
      // The key may have been rotated since it was read: read it again, and try once more if it changed.
      const reread = await this.#steps.secrets.getSecret(resource.secretName, { refresh: true, correlation });
      if (reread.value === secret.value) throw error;
      return this.#withKey(resource, reread.value, correlation, policy);
    }
  }

  /** One mint with `key` in place of the secret's (the rotation's check of a key); not counted. */
  mintWithKey(resource: RealtimeResource, key: string, policy: MintPolicy = {}): Promise<MintedKey> {
    return this.#withKey(resource, key, undefined, policy);
  }

  #withKey(
    resource: RealtimeResource,
    key: string,
    correlation: RequestCorrelation | undefined,
    policy: MintPolicy,
  ): Promise<MintedKey> {
    // fetch refuses a header value with a line break and quotes it whole in its error: never sent.
    if (/[^\t\x20-\x7e]/.test(key)) {
      throw new VendingError('key_malformed', 'The configured key is not shaped like a resource key.', {
        detail: 'The key configured for this resource is not a resource key. The operator has been told.',
        diagnosis: `secret "${resource.secretName}" for "${resource.name}" holds ${describeKey(key)} with a line break, control or non-ASCII character inside; it was not sent`,
        fix: `Copy KEY 1 from the resource's Keys and Endpoint page into secret "${resource.secretName}" alone, on one line.`,
      });
    }
    return this.#post(resource, { 'api-key': key }, [key], correlation, policy);
  }

  /** The managed identity's token for the resource's cloud, reused while it has 5 minutes left. */
  async #identityToken(resource: RealtimeResource): Promise<string> {
    const { scope } = REALTIME_CLOUDS[resource.cloud];
    const now = this.#steps.now();
    const cached = this.#tokens.get(resource.cloud);
    if (cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && token.expiresOnTimestamp - now > TOKEN_REUSE_MARGIN_MS) return token.token;
      if (this.#tokens.get(resource.cloud) === cached) this.#tokens.delete(resource.cloud);
    }
    let pending = this.#tokens.get(resource.cloud);
    if (pending === undefined) {
      pending = this.#steps.credential.getToken(scope).then((token) => {
        if (token === null) throw new Error('the credential returned no token');
        return token;
      });
      this.#tokens.set(resource.cloud, pending);
    }
    try {
      return (await pending).token;
    } catch (error) {
      if (this.#tokens.get(resource.cloud) === pending) this.#tokens.delete(resource.cloud);
      throw identityUnavailable(resource.name, scope, error);
    }
  }

  async #post(
    resource: RealtimeResource,
    auth: Readonly<Record<string, string>>,
    secrets: readonly string[],
    correlation: RequestCorrelation | undefined,
    policy: MintPolicy,
    onAuthRefused?: () => void,
  ): Promise<MintedKey> {
    const { now } = this.#steps;
    const attemptTimeoutMs = policy.attemptTimeoutMs ?? this.#steps.attemptTimeoutMs ?? 5000;
    const maxAttempts = policy.maxAttempts ?? 2;
    const deadline = now() + (policy.budgetMs ?? 10_000);
    const url = mintUrl(resource.endpoint);
    const body = this.#body(resource);
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.max(1, Math.min(attemptTimeoutMs, deadline - now()));
      const outcome = await this.#attempt(resource, url, body, auth, secrets, timeoutMs, correlation);
      if (outcome.kind === 'credential') {
        const issuedAt = now();
        return {
          token: outcome.value,
          issuedAt,
          expiresAt: outcome.expiresAt,
          answer: {
            session: {
              model: outcome.session.model ?? resource.deployment,
              voice: outcome.session.voice ?? configuredVoice(resource) ?? null,
            },
          },
        };
      }
      const { error } = outcome;
      if (error.code === 'identity_role_missing' || error.code === 'openai_auth_failed') onAuthRefused?.();
      const remaining = deadline - now();
      if (!outcome.retryable || attempt >= maxAttempts || remaining <= 0) throw error;
      const backoff = Math.min(remaining, (this.#steps.random ?? Math.random)() * 250 * 2 ** (attempt - 1));
      const wait = Math.max(backoff, outcome.retryAfterMs ?? 0);
      if (wait >= remaining) throw error;
      await (this.#steps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms))))(wait);
    }
  }

  async #attempt(
    resource: RealtimeResource,
    url: string,
    body: string,
    auth: Readonly<Record<string, string>>,
    secrets: readonly string[],
    timeoutMs: number,
    correlation: RequestCorrelation | undefined,
  ): Promise<MintOutcome> {
    const { now, fetch, telemetry } = this.#steps;
    const attempt = (): MintAttempt => ({
      url,
      resource: resource.name,
      now: now(),
      timeoutMs,
      deployment: resource.deployment,
      auth: resource.auth,
    });
    const call = telemetry.upstreamCall(
      'openai',
      { method: 'POST', host: new URL(url).host, resource: resource.name },
      correlation,
    );
    let status: number | undefined;
    let outcome: MintOutcome;
    try {
      const answer = await postForAnswer(fetch, url, {
        headers: { ...auth, 'Content-Type': 'application/json' },
        body,
        timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        retryAfter: (headers) => retryAfterText(headers, now()),
        onStatus: (answered) => (status = answered),
      });
      outcome = classifyMintAnswer(answer, attempt());
    } catch (error) {
      outcome = classifyMintNetworkFailure(error, attempt());
    }
    if (outcome.kind === 'failure')
      outcome = { ...outcome, error: redactError(outcome.error, (text) => redactSecrets(text, secrets)) };
    const code = outcome.kind === 'failure' ? outcome.error.code : undefined;
    call.end({
      status,
      failure: code === 'openai_timeout' ? 'timeout' : code === 'openai_unreachable' ? 'network' : undefined,
      code,
    });
    return outcome;
  }

  /** The mint's body, made once per resource: `{ session: { type, model, ...operator's session } }`. */
  #body(resource: RealtimeResource): string {
    let body = this.#bodies.get(resource);
    if (body === undefined) {
      body = JSON.stringify({ session: { ...resource.session, type: 'realtime', model: resource.deployment } });
      this.#bodies.set(resource, body);
    }
    return body;
  }

  #count(resource: RealtimeResource, outcome: string): void {
    this.#steps.telemetry.count('credential_mints', { resource: resource.name, outcome });
  }
}

/**
 * Azure OpenAI sends `retry-after-ms` beside `Retry-After`: the wait the shared reader picks (the
 * finer one wins), as whole seconds, since `UpstreamAnswer.retryAfter` is the header's text.
 */
function retryAfterText(headers: Headers, now: number): string | null {
  const ms = retryAfterOf(headers, now);
  return ms === undefined ? null : String(Math.ceil(ms / 1000));
}
