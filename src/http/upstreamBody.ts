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
