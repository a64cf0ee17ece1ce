import { afterEach, beforeEach, vi } from 'vitest';
import type { FetchLike } from '../../packages/client/src/index.js';

export const NOW = Date.parse('2026-11-22T10:00:00Z');

export interface TokenBody {
  accessToken: string;
  tokenType: string;
  expiresOn: string;
  expiresInSeconds?: number;
  resource: string;
  kind: string;
  cloud: string;
  region: string | null;
  endpoints: Record<string, string>;
  headers: Record<string, Record<string, string>>;
}

/** A 200 body shaped like the API's, issued at `issuedAt` (server clock) for `lifetimeMs`. */
export function tokenBody(
  id: string,
  options: { issuedAt?: number; lifetimeMs?: number; region?: string | null } = {},
): TokenBody {
  const issuedAt = options.issuedAt ?? NOW;
  const lifetimeMs = options.lifetimeMs ?? 600_000;
  const region = options.region === undefined ? 'westeurope' : options.region;
  return {
    accessToken: `ai-token-${id}`,
    tokenType: 'Bearer',
    expiresOn: new Date(issuedAt + lifetimeMs).toISOString(),
    expiresInSeconds: Math.floor(lifetimeMs / 1000),
    resource: 'speech',
    kind: 'speech',
    cloud: 'AzureCloud',
    region,
    endpoints:
      region === null
        ? {
            base: 'https://contoso.cognitiveservices.azure.com',
            stt: 'wss://contoso.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
            tts: 'wss://contoso.cognitiveservices.azure.com/tts/cognitiveservices/websocket/v1',
          }
        : {
            stt: `wss://${region}.stt.speech.microsoft.com`,
            tts: `wss://${region}.tts.speech.microsoft.com`,
            sttRest: `https://${region}.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1`,
            ttsRest: `https://${region}.tts.speech.microsoft.com/cognitiveservices/v1`,
          },
    headers: {},
  };
}

export function problem(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
): { status: number; body: unknown; headers: Record<string, string> } {
  return {
    status,
    body: {
      type: `urn:ai-token-vending:problem:${code}`,
      title: code,
      status,
      detail: `detail for ${code}`,
      code,
      correlationId: `corr-${code}`,
      ...extra,
    },
    headers: { 'content-type': 'application/problem+json' },
  };
}

export interface RecordedRequest {
  readonly url: string;
  readonly method: string | undefined;
  readonly authorization: string | null;
  readonly signal: AbortSignal | undefined;
}

type Step =
  | {
      readonly kind: 'reply';
      readonly status: number;
      readonly body: unknown;
      readonly headers: Record<string, string>;
      readonly raw: boolean;
    }
  | { readonly kind: 'fail'; readonly error: Error }
  | { readonly kind: 'hang' }
  | { readonly kind: 'held'; readonly release: Promise<void>; readonly then: Step };

/**
 * A scripted token API at the `fetch` boundary: each request takes the next step. A request with
 * no step left is recorded as unexpected (and fails), so `assertDone()` catches stray calls as
 * well as steps never used.
 */
export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  readonly #steps: Step[] = [];
  #unexpected = 0;

  reply(status: number, body?: unknown, headers: Record<string, string> = {}): this {
    this.#steps.push({
      kind: 'reply',
      status,
      body,
      headers: { 'content-type': 'application/json', ...headers },
      raw: false,
    });
    return this;
  }

  token(id: string, options?: Parameters<typeof tokenBody>[1]): this {
    return this.reply(200, tokenBody(id, options));
  }

  problem(
    status: number,
    code: string,
    headers: Record<string, string> = {},
    extra: Record<string, unknown> = {},
  ): this {
    const { body, headers: base } = problem(status, code, extra);
    this.#steps.push({ kind: 'reply', status, body, headers: { ...base, ...headers }, raw: false });
    return this;
  }

  /** A body sent as is (not JSON-encoded). */
  raw(status: number, text: string, headers: Record<string, string> = {}): this {
    this.#steps.push({ kind: 'reply', status, body: text, headers, raw: true });
    return this;
  }

  fail(error: Error = new TypeError('fetch failed')): this {
    this.#steps.push({ kind: 'fail', error });
    return this;
  }

  /** Never answers; rejects like the platform's fetch once its signal aborts. */
  hang(): this {
    this.#steps.push({ kind: 'hang' });
    return this;
  }

  /** The next request waits until the returned function is called, then gets this token. */
  held(id: string, options?: Parameters<typeof tokenBody>[1]): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#steps.push({
      kind: 'held',
      release: released,
      then: {
        kind: 'reply',
        status: 200,
        body: tokenBody(id, options),
        headers: { 'content-type': 'application/json' },
        raw: false,
      },
    });
    return release;
  }

  readonly fetch: FetchLike = async (url, init) => {
    const signal = init.signal ?? undefined;
    this.requests.push({
      url,
      method: init.method,
      authorization: new Headers(init.headers).get('authorization'),
      signal,
    });
    const step = this.#steps.shift();
    if (step === undefined) {
      this.#unexpected += 1;
      throw new Error(`FakeApi: unexpected request to ${url}`);
    }
    return this.#answer(step, signal);
  };

  async #answer(step: Step, signal: AbortSignal | undefined): Promise<Response> {
    switch (step.kind) {
      case 'fail':
        throw step.error;
      case 'hang':
        return new Promise<Response>((_resolve, reject) => {
          signal?.addEventListener(
            'abort',
            () => reject(new DOMException('This operation was aborted', 'AbortError')),
            { once: true },
          );
        });
      case 'held':
        await step.release;
        if (signal?.aborted) throw new DOMException('This operation was aborted', 'AbortError');
        return this.#answer(step.then, signal);
      case 'reply': {
        const text = step.raw ? String(step.body) : step.body === undefined ? null : JSON.stringify(step.body);
        return new Response(text, { status: step.status, headers: step.headers });
      }
    }
  }

  get pending(): number {
    return this.#steps.length;
  }

  assertDone(): void {
    if (this.#unexpected > 0) throw new Error(`FakeApi: ${this.#unexpected} unexpected request(s)`);
    if (this.#steps.length > 0) throw new Error(`FakeApi: ${this.#steps.length} scripted answer(s) never requested`);
  }
}

/**
 * Fake timers at NOW for each test, and a FakeApi factory whose APIs must have answered every
 * scripted call by the end of the test.
 */
export function useFakeApis(): () => FakeApi {
  const apis: FakeApi[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
    for (const api of apis.splice(0)) api.assertDone();
  });
  return () => {
    const api = new FakeApi();
    apis.push(api);
    return api;
  };
}
