import type { ErrorCode } from '../errors/catalog.js';
import type { MintState } from './kind.js';

/**
 * What a kind that mints per request remembers of each resource's mints, for the status view: the
 * last success and the last failure, by resource name. Two numbers per resource, whatever the traffic.
 */
export class MintLedger {
  readonly #now: () => number;
  readonly #lastMintAt = new Map<string, number>();
  readonly #lastError = new Map<string, { readonly code: ErrorCode; readonly at: number }>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Records a mint that worked for `resource`, now. */
  succeeded(resource: string): void {
    this.#lastMintAt.set(resource, this.#now());
  }

  /** Records a mint that failed for `resource` with `code`, now. */
  failed(resource: string, code: ErrorCode): void {
    this.#lastError.set(resource, { code, at: this.#now() });
  }

  /** The resource's last success and failure (epoch ms); failing while the failure is the later one. */
  state(resource: string): MintState {
    const lastMintAt = this.#lastMintAt.get(resource);
    const lastError = this.#lastError.get(resource);
    return {
      lastMintAt,
      lastError,
      failing: lastError !== undefined && (lastMintAt === undefined || lastError.at >= lastMintAt),
    };
  }
}
