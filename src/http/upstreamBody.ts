import type { UpstreamAnswer } from './upstream.js';
import { withTimeout } from '../timeout.js';

/** An upstream answer's body as text, cut at a limit. */
export interface BoundedText {
  /** At most the limit's worth of the body, decoded as UTF-8. */
  readonly text: string;
  /** False when the body was longer than the limit and `text` is only its beginning. */
  readonly complete: boolean;
}

/**
 * Reads an upstream answer's body, stopping at `maxBytes`. Entra, the STS and the vault answer in
 * a few kilobytes; a proxy, a captive portal or a broken upstream may not, and a body read whole
 * would sit in memory before anything checks it. With `signal`, the read ends when it aborts
 * (rejecting with its reason) and the body is cancelled, so an upstream that sends its headers
 * and then drips one byte at a time cannot hold the caller past the time budget.
 */
export async function readBoundedText(
  response: Response,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<BoundedText> {
  if (response.body === null) return { text: '', complete: true };
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const abort = () => {
    reader.cancel(signal?.reason).catch(() => undefined);
  };
  if (signal?.aborted === true) abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await readUpTo(reader, maxBytes);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

async function readUpTo(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<BoundedText> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      size = maxBytes;
      complete = false;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { text: new TextDecoder().decode(bytes), complete };
}

/** The body parsed as JSON; `undefined` when it is not JSON, or longer than `maxBytes`. Ends when `signal` aborts. */
export async function readBoundedJson(response: Response, maxBytes: number, signal?: AbortSignal): Promise<unknown> {
  const { text, complete } = await readBoundedText(response, maxBytes, signal);
  if (!complete) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** One POST to an upstream (the STS, Azure OpenAI): what to send and how long to wait. */
export interface UpstreamPost {
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The whole attempt, headers and body, in ms. */
  readonly timeoutMs: number;
  /** The most of the answer's body that is read, in bytes. */
  readonly maxBytes: number;
  /** The upstream's wait advice as `Retry-After` text (each upstream names its headers). */
  readonly retryAfter: (headers: Headers) => string | null;
  /** Hears the status as soon as the headers arrive: telemetry keeps it when the body read then fails. */
  readonly onStatus: (status: number) => void;
}

/**
 * POSTs to `url` and reads the answer for a classifier: the status, the body (bounded, read under
 * the same deadline as the headers) and `Retry-After`. Never follows a redirect (`redirect:
 * 'error'`): the credential on the request is never sent on to another host. Rejects with fetch's
 * error, or the deadline's `TimeoutError`.
 */
export function postForAnswer(fetchFn: typeof fetch, url: string, post: UpstreamPost): Promise<UpstreamAnswer> {
  return withTimeout(post.timeoutMs, async (signal) => {
    const response = await fetchFn(url, {
      method: 'POST',
      headers: post.headers,
      ...(post.body === undefined ? {} : { body: post.body }),
      signal,
      redirect: 'error',
    });
    post.onStatus(response.status);
    return {
      status: response.status,
      body: (await readBoundedText(response, post.maxBytes, signal)).text,
      retryAfter: post.retryAfter(response.headers),
    };
  });
}
