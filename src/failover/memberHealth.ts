import type { VendingError } from '../errors/serviceError.js';

/** When a failed member is tried again in the background. */
export interface ProbeBackoff {
  /** The first wait after a failure, in ms; doubled per failed probe. Default 4000. */
  readonly firstMs?: number;
  /** The longest wait, in ms. Default 60000: a recovered primary serves again within a minute. */
  readonly maxMs?: number;
}

/** A wait the upstream asked for (`Retry-After`, a quota's replenish time) is kept up to this, in ms. */
const MAX_ASKED_MS = 5 * 60_000;

/**
 * What one instance knows about one member of a failover group: healthy, or failing since a time
 * with its last failure and when it may next be probed. Pure state: the clock and the jitter are
 * passed in.
 */
export class MemberHealth {
  #failingSince: number | undefined;
  #nextProbeAt: number | undefined;
  #lastFailure: { readonly error: VendingError; readonly at: number } | undefined;
  /** Failures in a row, for the backoff. */
  #streak = 0;

  constructor(private readonly backoff: ProbeBackoff = {}) {}

  /** Whether its last outcome was a failure (and it has not recovered since). */
  get failing(): boolean {
    return this.#failingSince !== undefined;
  }

  /** Since when it fails (epoch ms); undefined while healthy. */
  get failingSince(): number | undefined {
    return this.#failingSince;
  }

  /** The earliest moment of its next probe (epoch ms); undefined while healthy. */
  get nextProbeAt(): number | undefined {
    return this.#nextProbeAt;
  }

  /** The last failure, kept after a recovery (the status view shows it). */
  get lastFailure(): { readonly error: VendingError; readonly at: number } | undefined {
    return this.#lastFailure;
  }

  /** Whether a probe may start now. */
  probeDue(now: number): boolean {
    return this.#nextProbeAt !== undefined && now >= this.#nextProbeAt;
  }

  /**
   * A request's (or the warm-up's) failure. A healthy member starts failing, its first probe after
   * the first wait; a failing one keeps its schedule, so requests already in flight when it failed
   * do not push its probe away. Returns whether the member was healthy until now.
   */
  failed(error: VendingError, now: number, random: () => number): boolean {
    if (this.failing) {
      this.#lastFailure = { error, at: this.#lastFailure?.error === error ? this.#lastFailure.at : now };
      return false;
    }
    this.#failingSince = now;
    this.#streak = 0;
    this.#lastFailure = { error, at: now };
    this.#schedule(error, now, random);
    return true;
  }

  /** A probe's (or a self-check's) failure of a failing member: the next probe after a doubled wait. */
  probeFailed(error: VendingError, now: number, random: () => number): void {
    this.#failingSince ??= now;
    this.#lastFailure = { error, at: now };
    this.#streak++;
    this.#schedule(error, now, random);
  }

  /**
   * The next probe: full jitter over the upper half of the wait, doubled per failed probe up to the
   * cap (instances do not probe in step), never sooner than the upstream asked.
   */
  #schedule(error: VendingError, now: number, random: () => number): void {
    const firstMs = this.backoff.firstMs ?? 4000;
    const wait = Math.min(this.backoff.maxMs ?? 60_000, firstMs * 2 ** this.#streak);
    const asked = Math.min(MAX_ASKED_MS, (error.retryAfterSeconds ?? 0) * 1000);
    this.#nextProbeAt = now + Math.max(asked, Math.round(wait / 2 + (random() * wait) / 2));
  }

  /** Records a success. Returns whether the member was failing until now. */
  recovered(): boolean {
    const wasFailing = this.failing;
    this.#failingSince = undefined;
    this.#nextProbeAt = undefined;
    this.#streak = 0;
    return wasFailing;
  }
}
