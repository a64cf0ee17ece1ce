/**
 * One piece of work in flight per key: concurrent callers for the same key share its promise, and
 * the next call after it settles starts afresh.
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** Whether work for `key` is in flight. */
  running(key: string): boolean {
    return this.#inFlight.has(key);
  }

  run(key: string, work: () => Promise<T>): Promise<T> {
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = work().finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }
}
