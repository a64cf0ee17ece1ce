/**
 * Runs `work` with a signal that aborts with a `TimeoutError` after `ms`, and settles by then
 * whatever `work` does: it rejects with that `TimeoutError` at the deadline even when `work` has
 * not heard the signal (on Node 20 an aborted fetch does not always stop a body read that is
 * under way), and what `work` does later is dropped. A plain timer rather than
 * `AbortSignal.timeout()`: Node lets an otherwise unreferenced timeout signal be garbage-collected
 * before it fires, and a lost timeout is a request that hangs for ever.
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = new DOMException(`no answer within ${ms} ms`, 'TimeoutError');
      controller.abort(reason);
      reject(reason);
    }, ms);
  });
  const working = work(controller.signal);
  // Settled after the deadline, its outcome has nobody to go to.
  working.catch(() => undefined);
  try {
    return await Promise.race([working, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
