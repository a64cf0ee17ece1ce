import { ensureVendingError, type ErrorCode, type VendingError } from '../errors/serviceError.js';
import type { Logger } from '../log/logger.js';
import { membersOf, type MintedCredential, type TokenResource } from '../model.js';
import { EVENTS } from '../telemetry/names.js';
import type { RequestCorrelation, Telemetry } from '../telemetry/telemetry.js';
import { failsOver } from './memberFailure.js';
import { MemberHealth, type ProbeBackoff } from './memberHealth.js';

/** The steps a `Failover` works through: it holds health, never tokens, and calls no upstream itself. */
export interface FailoverOptions {
  /** Clock, epoch ms. */
  readonly now: () => number;
  /** [0, 1) source for the probes' jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
  /**
   * One member's credential as a request gets it: the member's own token cache for kinds whose
   * credential callers share (a failed refresh throws, even while a cached token still works),
   * a mint per call otherwise. `probe`: a background probe, which asks the upstream even while the
   * cache holds a recent failure. Throws `VendingError`.
   */
  readonly obtain: (
    member: TokenResource,
    correlation: RequestCorrelation | undefined,
    probe: boolean,
  ) => Promise<MintedCredential>;
  /**
   * What a member's token cache still holds, asking no upstream: `fresh` while a lookup would hand it
   * out, else while it works at all. Always undefined for kinds that mint per request.
   */
  readonly held: (member: TokenResource, fresh: boolean) => MintedCredential | undefined;
  /** Where a member's failure, its recovery and a change of the serving member are logged. */
  readonly logger: Logger;
  /** Reports the serving member's index (`failover_serving_member`). */
  readonly telemetry: Pick<Telemetry, 'lowest'>;
  /** When a failed member is probed again. Default: from 4 s, doubling, at most a minute. */
  readonly backoff?: ProbeBackoff | undefined;
}

/** A credential and the member that minted it: the answer's region and endpoints are that member's. */
export interface Served {
  readonly credential: MintedCredential;
  readonly member: TokenResource;
}

/** One member as operators see it (`GET /api/status`). */
export interface MemberView {
  readonly member: TokenResource;
  readonly state: 'healthy' | 'failing';
  /** Since when it fails, epoch ms; undefined while healthy. */
  readonly failingSince: number | undefined;
  /** The earliest moment of its next background probe, epoch ms; undefined while healthy. */
  readonly nextProbeAt: number | undefined;
  /** Its last failure (epoch ms), kept after it recovers. */
  readonly lastError: { readonly code: ErrorCode; readonly at: number } | undefined;
}

/** A failover group as operators see it: who would serve the next request, and every member's state. */
export interface FailoverView {
  /** The member the next request gets its credential from; undefined while none can serve. */
  readonly serving: TokenResource | undefined;
  readonly members: readonly MemberView[];
}

interface Group {
  readonly resource: TokenResource;
  readonly members: readonly TokenResource[];
  readonly health: readonly MemberHealth[];
  readonly probing: boolean[];
  /** The member that served the last answer: a change is logged once. */
  serving: number;
}

/**
 * One name, several resources. The primary serves while it can; when it cannot produce a
 * credential (a failure `failsOver` accepts) and holds no valid one, the next healthy member
 * serves within the same request. A failed member is left alone by requests and probed in the
 * background, after a backoff, one probe at a time; once it works again it serves again, the
 * primary first. Each instance keeps its own view. Probes start when a request or a self-check
 * meets a member whose probe is due, so no timer runs.
 */
export class Failover {
  readonly #options: FailoverOptions;
  readonly #random: () => number;
  readonly #groups = new Map<string, Group>();
  /** Each member's group and place, by the member's name. */
  readonly #places = new Map<string, { readonly group: Group; readonly index: number }>();

  /** One group per resource in `resources` that has fallbacks (`failover`); the others are left to the cache or their kind. */
  constructor(resources: readonly TokenResource[], options: FailoverOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    for (const resource of resources) {
      const members = membersOf(resource);
      if (members.length < 2) continue;
      const group: Group = {
        resource,
        members,
        health: members.map(() => new MemberHealth(options.backoff)),
        probing: members.map(() => false),
        serving: 0,
      };
      this.#groups.set(resource.name, group);
      members.forEach((member, index) => this.#places.set(member.name, { group, index }));
    }
  }

  /** Whether the resource has fallbacks, so its credentials come from `serve`. */
  covers(resource: TokenResource): boolean {
    return this.#groups.has(resource.name);
  }

  /** Whether this resource is a member of a failover group (a resource with fallbacks, or one of them). */
  member(resource: TokenResource): boolean {
    return this.#places.has(resource.name);
  }

  /** Whether another member follows this one in its group: one attempt is then enough (`MintOptions.oneAttempt`). */
  hasNext(member: TokenResource): boolean {
    const place = this.#places.get(member.name);
    return place !== undefined && place.index < place.group.members.length - 1;
  }

  /**
   * A credential for a resource with fallbacks, from the first member that can mint one. When none
   * can, a member's token that still works (the primary's first), else the primary's own failure.
   * Throws at once, without trying the others, for a failure that is not a member's (`failsOver`).
   */
  async serve(resource: TokenResource, correlation: RequestCorrelation): Promise<Served> {
    const group = this.#group(resource);
    this.#probeDue(group);
    for (const [index, member] of group.members.entries()) {
      if (group.health[index]?.failing === true) {
        const held = this.#options.held(member, true);
        if (held !== undefined) return this.#served(group, index, held);
        continue;
      }
      try {
        return this.#served(group, index, await this.#options.obtain(member, correlation, false));
      } catch (error) {
        if (!failsOver(error)) throw error;
        this.#failed(group, index, error);
      }
    }
    for (const [index, member] of group.members.entries()) {
      const held = this.#options.held(member, false);
      if (held !== undefined) return this.#served(group, index, held);
    }
    throw group.health[0]?.lastFailure?.error ?? new Error(`failover group "${resource.name}" has no failure`);
  }

  /**
   * One member's credential, outside any request (warm-up, the self-check), with its outcome
   * recorded: a failing member that works is healthy again, a healthy one that fails is failing.
   */
  async check(member: TokenResource, correlation?: RequestCorrelation): Promise<MintedCredential> {
    const place = this.#places.get(member.name);
    if (place === undefined) return this.#options.obtain(member, correlation, false);
    const wasFailing = place.group.health[place.index]?.failing === true;
    try {
      const credential = await this.#options.obtain(member, correlation, false);
      this.#recovered(place.group, place.index);
      return credential;
    } catch (error) {
      // On a failing member a check is a probe: its failure doubles the wait.
      if (wasFailing) this.#probeFailed(place.group, place.index, ensureVendingError(error));
      else this.#failed(place.group, place.index, ensureVendingError(error));
      throw error;
    }
  }

  /** Each member's state and who would serve now; reads state only, calls no upstream. */
  view(resource: TokenResource): FailoverView | undefined {
    const group = this.#groups.get(resource.name);
    if (group === undefined) return undefined;
    const serving = this.#wouldServe(group);
    return {
      serving: serving === undefined ? undefined : group.members[serving],
      members: group.members.map((member, index) => {
        const health = group.health[index] ?? new MemberHealth();
        const last = health.lastFailure;
        return {
          member,
          state: health.failing ? 'failing' : 'healthy',
          failingSince: health.failingSince,
          nextProbeAt: health.nextProbeAt,
          lastError: last === undefined ? undefined : { code: last.error.code, at: last.at },
        };
      }),
    };
  }

  /** Reports the serving member of every group (`failover_serving_member`), e.g. from the self-check while no caller asks. */
  report(): void {
    for (const group of this.#groups.values()) {
      const serving = this.#wouldServe(group);
      if (serving !== undefined) this.#measure(group, serving);
    }
  }

  #group(resource: TokenResource): Group {
    const group = this.#groups.get(resource.name);
    if (group === undefined) throw new Error(`resource "${resource.name}" has no fallbacks`);
    return group;
  }

  /** The first member that is healthy or still holds a token a lookup would hand out. */
  #wouldServe(group: Group): number | undefined {
    const index = group.members.findIndex(
      (member, i) => group.health[i]?.failing !== true || this.#options.held(member, true) !== undefined,
    );
    return index === -1 ? undefined : index;
  }

  #served(group: Group, index: number, credential: MintedCredential): Served {
    const previous = group.serving;
    if (index !== previous) {
      group.serving = index;
      this.#logChange(group, previous, index);
    }
    this.#measure(group, index);
    return { credential, member: group.members[index] ?? group.resource };
  }

  #measure(group: Group, index: number): void {
    this.#options.telemetry.lowest('failover_serving_member', index, {
      resource: group.resource.name,
      member: group.members[index]?.name ?? group.resource.name,
    });
  }

  #logChange(group: Group, from: number, to: number): void {
    const fields = {
      resource: group.resource.name,
      member: group.members[to]?.name,
      previous: group.members[from]?.name,
    };
    if (to > from) {
      // The member that served before failed; what it said is the reason.
      const failure = group.health[from]?.lastFailure?.error;
      this.#options.logger.warn(EVENTS.failoverServingChanged, {
        ...fields,
        reason: `${fields.previous ?? ''} cannot produce a credential`,
        code: failure?.code,
        diagnosis: failure?.diagnosis,
        fix: failure?.fix,
      });
    } else {
      this.#options.logger.info(EVENTS.failoverServingChanged, {
        ...fields,
        reason:
          group.health[to]?.failing === true
            ? `no member can mint; ${fields.member ?? ''} still holds a working token`
            : `${fields.member ?? ''} works again`,
      });
    }
  }

  #failed(group: Group, index: number, error: VendingError): void {
    const health = group.health[index];
    if (health === undefined) return;
    const now = this.#options.now();
    if (!health.failed(error, now, this.#random)) return;
    this.#options.logger.warn(EVENTS.failoverMemberFailed, {
      resource: group.resource.name,
      member: group.members[index]?.name,
      code: error.code,
      upstreamCode: error.upstreamCode,
      diagnosis: error.diagnosis,
      fix: error.fix,
      nextProbeAt: new Date(health.nextProbeAt ?? now).toISOString(),
    });
  }

  #probeFailed(group: Group, index: number, error: VendingError): void {
    group.health[index]?.probeFailed(error, this.#options.now(), this.#random);
  }

  #recovered(group: Group, index: number): void {
    const health = group.health[index];
    const since = health?.failingSince;
    if (!health?.recovered()) return;
    this.#options.logger.info(EVENTS.failoverMemberRecovered, {
      resource: group.resource.name,
      member: group.members[index]?.name,
      failedForSeconds: since === undefined ? undefined : Math.round((this.#options.now() - since) / 1000),
    });
  }

  /** Starts a background probe of each failing member whose backoff has run out and that none is probing. */
  #probeDue(group: Group): void {
    const now = this.#options.now();
    for (const [index, member] of group.members.entries()) {
      if (group.probing[index] === true || group.health[index]?.probeDue(now) !== true) continue;
      group.probing[index] = true;
      this.#options
        .obtain(member, undefined, true)
        .then(
          () => this.#recovered(group, index),
          (error: unknown) => this.#probeFailed(group, index, ensureVendingError(error)),
        )
        .finally(() => {
          group.probing[index] = false;
        });
    }
  }
}
