/**
 * Runs `work` with a signal that aborts with a `TimeoutError` after `ms`. A plain timer rather than
 * `AbortSignal.timeout()`: Node lets an otherwise unreferenced timeout signal be garbage-collected
 * before it fires, and a lost timeout is a request that hangs for ever.
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
