import { hostname } from 'node:os';
import { describeError } from '../errors/serviceError.js';
import type { LogFields, Logger } from '../log/logger.js';
import { EVENTS } from '../telemetry/names.js';
import { allMembers, canonicalResourceName, type Config, type KeyName, type TokenResource } from '../model.js';
import { SingleFlight } from '../singleFlight.js';
import type { AccountKeys, AccountKeysClient } from './accountKeys.js';
import type { KeyCheck } from './keyCheck.js';
import {
  ACCOUNT_ROLE_FIX,
  conflict,
  ensureRotationError,
  fixFor,
  leakPending,
  newKeyInvalid,
  permissionMissing,
  resourceIdMissing,
  RotationError,
  secretDead,
  unconfirmed,
  type RotationCode,
  type RotationRunner,
} from './rotationError.js';
import type { HeldLease, RotationLeases } from './rotationLease.js';
import type { RotationSecretStore } from './rotationSecret.js';
import { SecretRepair, slotOf, type Snapshot } from './secretRepair.js';
import {
  nextRotationAt,
  otherKey,
  otherKeyFreeAt,
  rotationStateOf,
  rotationTags,
  withoutPending,
  type RotationState,
} from './rotationState.js';

/**
 * `due`: rotate what the schedule says is due (the timer, and `npm run rotate` without a flag).
 * `now`: rotate at once, as long as no instance can still hold the key that is regenerated.
 * `leaked`: the key in use may have leaked: rotate at once, then regenerate the replaced key too.
 * `repair`: rotate nothing; store the account's working key if the secret holds a dead one, and
 * finish a `--leaked` rotation that was interrupted. Every other mode does this first, too.
 */
export type RotationMode = 'due' | 'now' | 'leaked' | 'repair';

/** One resource's result, as `npm run rotate -- --json` prints it. Never holds a key. */
export interface RotationOutcome {
  readonly resource: string;
  /**
   * `repaired`: no rotation, but the run put the secret right (stored a working key in place of a
   * dead one, or regenerated the key an interrupted `--leaked` left working). `would_rotate` and
   * `would_repair`: what a dry run would have done (it changed nothing).
   */
  readonly action: 'rotated' | 'repaired' | 'skipped' | 'failed' | 'would_rotate' | 'would_repair';
  /** The key the secret holds afterwards (rotated, repaired) or now (skipped), when known. */
  readonly keyName?: KeyName;
  /** Why it was skipped, or what was done. */
  readonly reason?: string;
  /** A failure's code; on a skip, `rotation_lease_held` when another rotator was at work. */
  readonly code?: RotationCode;
  readonly detail?: string;
  readonly fix?: string;
}

export interface RotationRunOptions {
  readonly mode: RotationMode;
  /** Read what is needed to decide, change nothing (no lease is taken). */
  readonly dryRun?: boolean;
  /** Only this resource, by name; default: every resource that has a `resourceId`. */
  readonly resource?: string;
  /** Added to this run's log lines, e.g. the timer's invocation id. */
  readonly logFields?: LogFields;
  /**
   * Who runs, as other rotators are told while this one holds the lease, e.g. `npm run rotate on
   * host build-7 pid 4242`. Default: `rotation in process {pid} on host {hostname}`.
   */
  readonly holder?: string;
  /** The timer or an operator (`npm run rotate`, the default): what a failure's fix says to do now. */
  readonly runBy?: RotationRunner;
}

/** What `npm run rotate`, the timer and the doctor use; `composition.ts` loads the implementation on first use. */
export interface Rotation {
  /** Rotates the resources one after another; never throws for a failed rotation (its outcome says). */
  run(options: RotationRunOptions): Promise<RotationOutcome[]>;
  /**
   * Whether the identity may do every step of a rotation of `resource`, without doing one: its
   * effective actions on the account, and an unchanged write of the given secret version's tags.
   * Resolves to the first missing permission, or `undefined`.
   */
  checkPermissions(
    resource: TokenResource,
    version: { readonly version: string | undefined; readonly tags: Readonly<Record<string, string>> },
  ): Promise<RotationError | undefined>;
}

export interface KeyRotationOptions {
  readonly config: Config;
  readonly accounts: AccountKeysClient;
  readonly store: RotationSecretStore;
  /** One rotator at a time per account: the blob lease, or NO_LEASE_STORAGE. */
  readonly leases: RotationLeases;
  /** Whether the resource's token service accepts a key: what a repair stores must work. */
  readonly checkKey: KeyCheck;
  readonly now: () => number;
  readonly logger: Logger;
}

/** ARM answers that mean the regeneration was refused, so nothing changed. */
const REFUSALS: ReadonlySet<RotationCode> = new Set([
  'rotation_permission_missing',
  'rotation_credential_unavailable',
  'rotation_account_not_found',
  'rotation_arm_refused',
  'rotation_resource_id_missing',
]);

/** One resource's run under its lease: what it changed so far, for a report of what really happened. */
interface Run {
  readonly resource: TokenResource;
  readonly mode: RotationMode;
  readonly holder: string;
  readonly logger: Logger;
  lease: HeldLease;
  /** Changes in order ("regenerated key2", "stored key2 (version …)"); a regeneration is noted before it is sent. */
  readonly changes: string[];
}

/**
 * Dual-key rotation: the secret holds one of the account's two keys; a rotation regenerates the
 * other (which no instance can still hold), stores it as a new version tagged `keyName` and
 * `rotatedAt`, and instances switch within SECRET_MAX_AGE_MINUTES while the replaced key keeps
 * working until the next rotation regenerates it.
 *
 * Two rotators (the timer on any instance, `npm run rotate` anywhere) never work on one account at
 * once: each run holds the account's blob lease, renewed before each change. Key Vault has no
 * conditional write, so the lease is backed by reading again: right before each regeneration (the
 * secret's latest version and the account's keys must be what the run decided on, or it stops with
 * `rotation_conflict`), after each write, and after any failure that follows a regeneration, when a
 * secret holding a key the account no longer has is repaired with the account's working key.
 */
export class KeyRotation implements Rotation {
  readonly #options: KeyRotationOptions;
  readonly #repair: SecretRepair;
  readonly #flights = new SingleFlight<RotationOutcome>();

  constructor(options: KeyRotationOptions) {
    this.#options = options;
    this.#repair = new SecretRepair(options);
  }

  async run(options: RotationRunOptions): Promise<RotationOutcome[]> {
    // Each failover member with a resourceId is an account of its own, rotated like any resource.
    const resources = allMembers(this.#options.config.resources);
    const targets =
      options.resource === undefined
        ? resources.filter((r) => r.resourceId !== null)
        : resources.filter((r) => canonicalResourceName(r.name) === canonicalResourceName(options.resource ?? ''));
    const logger = this.#options.logger.child(options.logFields ?? {});
    const outcomes: RotationOutcome[] = [];
    const rotatedWith = new Map<string, string>();
    // One after another: a run's load on ARM and Key Vault stays a handful of calls at a time.
    for (const resource of targets) {
      if (resource.resourceId === null) {
        outcomes.push(this.#failed(resource, resourceIdMissing(resource.name), logger, options.runBy));
        continue;
      }
      const account = `${resource.resourceId.toLowerCase()}|${resource.secretName}`;
      const first = rotatedWith.get(account);
      if (first !== undefined) {
        outcomes.push({
          resource: resource.name,
          action: 'skipped',
          reason: `same account and secret as "${first}": rotated with it`,
        });
        continue;
      }
      rotatedWith.set(account, resource.name);
      // A run asking for the same thing joins one in flight in this process; anything else meets
      // the lease, across processes too.
      const flight = `${account}|${options.mode}|${options.dryRun === true ? 'dry' : 'real'}`;
      outcomes.push(await this.#flights.run(flight, () => this.#rotate(resource, options, logger)));
    }
    return outcomes;
  }

  async checkPermissions(
    resource: TokenResource,
    version: { readonly version: string | undefined; readonly tags: Readonly<Record<string, string>> },
  ): Promise<RotationError | undefined> {
    try {
      const allowed = await this.#options.accounts.permissions(resource);
      const missing = [
        ...(allowed.listKeys ? [] : ['Microsoft.CognitiveServices/accounts/listKeys/action']),
        ...(allowed.regenerateKey ? [] : ['Microsoft.CognitiveServices/accounts/regenerateKey/action']),
      ];
      if (missing.length > 0) {
        return permissionMissing(
          missing.length === 2
            ? "list or regenerate the account's keys"
            : allowed.listKeys
              ? "regenerate the account's keys"
              : "list the account's keys",
          `the identity's effective permissions on ${resource.resourceId ?? ''} lack ${missing.join(' and ')}`,
          ACCOUNT_ROLE_FIX,
        );
      }
      if (version.version !== undefined)
        await this.#options.store.updateTags(resource.secretName, version.version, version.tags);
      return undefined;
    } catch (error) {
      return ensureRotationError(error);
    }
  }

  async #rotate(resource: TokenResource, options: RotationRunOptions, logger: Logger): Promise<RotationOutcome> {
    try {
      if (options.dryRun === true) return await this.#dryRun(resource, options.mode);
      // The timer's usual tick: nothing due, and a key the token service takes. No lease, no ARM.
      if (options.mode === 'due') {
        const quiet = await this.#nothingToDo(resource);
        if (quiet !== undefined) return quiet;
      }
    } catch (error) {
      return this.#failed(resource, ensureRotationError(error), logger, options.runBy);
    }

    const holder = options.holder ?? `rotation in process ${process.pid} on host ${hostname()}`;
    let lease: HeldLease;
    try {
      lease = await this.#acquire(resource, holder, options.mode);
    } catch (error) {
      const failure = ensureRotationError(error);
      if (failure.code !== 'rotation_lease_held') return this.#failed(resource, failure, logger, options.runBy);
      const reason = `${failure.diagnosis}; this run changed nothing`;
      logger.info('key_rotation_skipped', { resource: resource.name, code: failure.code, reason });
      return { resource: resource.name, action: 'skipped', code: failure.code, reason, fix: failure.fix };
    }
    const run: Run = { resource, mode: options.mode, holder, logger, lease, changes: [] };
    try {
      return await this.#underLease(run);
    } catch (error) {
      const failure = ensureRotationError(error);
      return this.#failed(
        resource,
        run.changes.length === 0 ? failure : await this.#afterFailure(run, failure),
        logger,
        options.runBy,
      );
    } finally {
      await run.lease.release().catch((error: unknown) => {
        logger.warn('rotation_lease_release_failed', {
          resource: resource.name,
          diagnosis: describeError(error),
          fix: 'Nothing to do: an unreleased lease ends by itself within 60 seconds.',
        });
      });
    }
  }

  #acquire(resource: TokenResource, holder: string, mode: RotationMode): Promise<HeldLease> {
    return this.#options.leases.acquire(resource, {
      holder,
      since: new Date(this.#options.now()).toISOString(),
      mode,
    });
  }

  /** A skip for a `due` run, from the secret alone (and the token service), or `undefined` to go on. */
  async #nothingToDo(resource: TokenResource): Promise<RotationOutcome | undefined> {
    const secret = await this.#options.store.read(resource.secretName);
    const state = rotationStateOf(secret);
    const skip = state.pending === null ? this.#skipReason('due', state) : undefined;
    if (skip === undefined) return undefined;
    // A key the token service refuses may be one the account no longer has: a repair's case. One
    // it cannot be asked about shows nothing wrong; the next tick asks again.
    const works = await this.#options.checkKey(resource, secret.value).catch(() => true);
    return works ? this.#skipped(resource, state.keyName ?? undefined, skip) : undefined;
  }

  async #underLease(run: Run): Promise<RotationOutcome> {
    const { resource } = run;
    const notes: string[] = [];
    let snapshot = await this.#repair.snapshot(resource);
    let held = slotOf(snapshot.keys, snapshot.secret.value);
    if (held === undefined) {
      ({ snapshot, held } = await this.#repair.store(resource, snapshot, () => run.lease.keep(), run.changes));
      notes.push(
        `the secret held a key the account no longer has: stored ${held} (version ${snapshot.secret.version}), which the account has and the token service accepts`,
      );
    }
    const pending = rotationStateOf(snapshot.secret).pending;
    if (pending !== null) {
      snapshot = await this.#finishLeak(run, snapshot, held, pending);
      notes.push(`finished an interrupted --leaked rotation: regenerated ${pending}, the suspected leaked key`);
    }
    const skip = this.#skipReason(run.mode, rotationStateOf(snapshot.secret), held, snapshot.secret.version);
    if (skip !== undefined) {
      if (notes.length === 0) return this.#skipped(resource, held, skip);
      return { resource: resource.name, action: 'repaired', keyName: held, reason: notes.join('; ') };
    }
    const outcome = await this.#rotateKeys(run, snapshot, held);
    return notes.length === 0 ? outcome : { ...outcome, reason: `${notes.join('; ')}; then ${outcome.reason ?? ''}` };
  }

  /** Why the mode asks for no rotation now, or `undefined` to rotate. */
  #skipReason(mode: RotationMode, state: RotationState, held?: KeyName, version?: string): string | undefined {
    const { config, now } = this.#options;
    const { periodDays } = config.rotation;
    const since = state.since === null ? 'an unknown time' : new Date(state.since).toISOString();
    const current = held ?? state.keyName ?? 'the key in use';
    if (mode === 'repair')
      return `nothing to repair: the secret holds ${current}${version === undefined ? '' : ` (version ${version})`}, which the account has`;
    if (mode === 'due') {
      if (periodDays === 0)
        return 'scheduled rotation is off (KEY_ROTATION_DAYS is 0); --now or --leaked rotate on demand';
      const dueAt = nextRotationAt(state, periodDays);
      if (dueAt !== null && now() < dueAt)
        return `not due: ${current} in use since ${since}; next rotation at ${new Date(dueAt).toISOString()}`;
    }
    if (mode === 'now') {
      const freeAt = otherKeyFreeAt(state, config.secretMaxAgeMs);
      if (now() < freeAt) {
        return `the other key was in use until ${since} and instances may hold it until ${new Date(freeAt).toISOString()} (SECRET_MAX_AGE_MINUTES): regenerating it now could cut them off; use --leaked if the key in use leaked`;
      }
    }
    return undefined;
  }

  async #rotateKeys(run: Run, before: Snapshot, held: KeyName): Promise<RotationOutcome> {
    const { resource, mode } = run;
    const { store, now, config } = this.#options;
    const next = otherKey(held);
    const after = await this.#regenerate(run, before, next, `regenerating ${next}`);

    await run.lease.keep();
    const at = now();
    // A --leaked rotation marks the step it still owes on the version itself: if it is stopped
    // before regenerating the leaked key, the timer finishes it and the doctor reports it.
    const version = await store.write(resource.secretName, after[next], {
      tags: rotationTags(next, at, mode === 'leaked' ? held : undefined),
      contentType: `text/plain; Azure AI services ${next} of ${resource.resourceId ?? ''}`,
      // When the key is due to be regenerated: two periods on, if the schedule keeps running.
      expiresOn: config.rotation.periodDays > 0 ? at + 2 * config.rotation.periodDays * 86_400_000 : undefined,
    });
    run.changes.push(`stored ${next} (version ${version})`);
    const written: Snapshot = {
      secret: { value: after[next], version, tags: rotationTags(next, at), createdOn: at },
      keys: after,
    };

    if (mode === 'leaked') {
      // Only after the new key is stored: instances still holding the leaked key then get an STS
      // 401, read the secret again and find the new one.
      await this.#regenerate(run, written, held, `regenerating ${held}, the suspected leaked key`);
      await this.#clearPending(run, version, rotationTags(next, at));
    } else {
      await this.#repair.unchanged(resource, written, `after storing ${next} as version ${version}`);
    }
    run.logger.info(EVENTS.keyRotated, {
      resource: resource.name,
      keyName: next,
      secret: resource.secretName,
      version,
      mode,
    });
    return {
      resource: resource.name,
      action: 'rotated',
      keyName: next,
      reason:
        mode === 'leaked'
          ? `regenerated ${next}, stored it (version ${version}), then regenerated ${held}: no key from before works`
          : `regenerated ${next} and stored it (version ${version}); ${held} keeps working until the next rotation regenerates it`,
    };
  }

  /**
   * Regenerates `keyName` after checking, under a freshly kept lease, that the secret and the keys
   * are still `expected`; refuses an answer whose "new" key is the old one or the other key.
   * Resolves to the account's keys afterwards.
   */
  async #regenerate(run: Run, expected: Snapshot, keyName: KeyName, doing: string): Promise<AccountKeys> {
    const { resource } = run;
    await run.lease.keep();
    await this.#repair.unchanged(resource, expected, `before ${doing}`);
    // Noted before the call: a regeneration can take effect even when its answer is lost.
    const note = run.changes.push(`asked for ${keyName} to be regenerated, and no answer said whether it was`) - 1;
    let after: AccountKeys;
    try {
      after = await this.#options.accounts.regenerateKey(resource, keyName);
    } catch (error) {
      const failure = ensureRotationError(error);
      if (REFUSALS.has(failure.code)) run.changes.splice(note, 1);
      throw failure;
    }
    const other = otherKey(keyName);
    const account = resource.resourceId ?? '';
    const stale =
      after[keyName] === expected.keys[keyName]
        ? 'the key it had before'
        : after[keyName] === expected.keys[other] || after[keyName] === after[other]
          ? `${other}, the account's other key`
          : undefined;
    if (stale !== undefined) {
      run.changes[note] = `asked for ${keyName} to be regenerated, and the answer was not a new key`;
      throw newKeyInvalid(account, keyName, `the answer's ${keyName} is ${stale}`);
    }
    run.changes[note] = `regenerated ${keyName}`;
    if (after[other] !== expected.keys[other])
      throw conflict(
        `regenerating ${keyName} on ${account}: the answer's ${other} changed too, so another rotator regenerated it`,
      );
    return after;
  }

  /** Removes the `regeneratePending` mark once its key is regenerated; a mark left behind costs one more regeneration. */
  async #clearPending(run: Run, version: string, tags: Readonly<Record<string, string>>): Promise<void> {
    try {
      await run.lease.keep();
      await this.#options.store.updateTags(run.resource.secretName, version, tags);
    } catch (error) {
      run.logger.warn('rotation_pending_tag_left', {
        resource: run.resource.name,
        version,
        diagnosis: ensureRotationError(error).diagnosis,
        fix: 'Nothing to do: the next run regenerates the key named by the regeneratePending tag once more, which nobody uses, and removes the tag.',
      });
    }
  }

  /** Regenerates the key an interrupted `--leaked` left working, then removes its mark. */
  async #finishLeak(run: Run, snapshot: Snapshot, held: KeyName, pending: KeyName): Promise<Snapshot> {
    const { resource } = run;
    const state = rotationStateOf(snapshot.secret);
    const since = state.since === null ? 'an unknown time' : new Date(state.since).toISOString();
    const where = this.#repair.where(resource);
    if (pending === held)
      throw conflict(
        `${where}: its regeneratePending tag names ${pending}, the key it holds, which is never regenerated; remove the tag (or run --leaked to replace the key)`,
      );
    const left = leakPending(where, held, pending, since, resource.name);
    run.logger.warn(EVENTS.keyRotationIncomplete, {
      resource: resource.name,
      code: left.code,
      diagnosis: left.diagnosis,
      fix: 'This run regenerates it now.',
    });
    const keys = await this.#regenerate(
      run,
      snapshot,
      pending,
      `regenerating ${pending}, left by an interrupted --leaked`,
    );
    const tags = withoutPending(snapshot.secret.tags);
    await this.#clearPending(run, snapshot.secret.version, tags);
    run.logger.info(EVENTS.keyRotated, {
      resource: resource.name,
      keyName: held,
      secret: resource.secretName,
      version: snapshot.secret.version,
      mode: 'leaked',
    });
    return { secret: { ...snapshot.secret, tags }, keys };
  }

  /**
   * After a failure that followed a change: reads where things stand and, when the secret holds a
   * key the account no longer has, stores the account's working key. Resolves to the failure to
   * report, saying what the run changed and what the secret holds now.
   */
  async #afterFailure(run: Run, failure: RotationError): Promise<RotationError> {
    const { resource } = run;
    const did = `${failure.diagnosis}; before that this run ${run.changes.join(', then ')}`;
    let snapshot: Snapshot;
    try {
      snapshot = await this.#repair.snapshot(resource);
    } catch (error) {
      const unread = ensureRotationError(error);
      return unconfirmed(
        resource.name,
        `${did}; reading the secret and the account's keys afterwards failed too (${unread.diagnosis}), so whether the secret still holds a key the account has is unknown`,
      );
    }
    const held = slotOf(snapshot.keys, snapshot.secret.value);
    if (held !== undefined) {
      const pending = rotationStateOf(snapshot.secret).pending;
      return withDiagnosis(
        failure,
        `${did}; afterwards the secret holds ${held} (version ${snapshot.secret.version}), which the account has, so callers are unaffected${
          pending === null
            ? ''
            : `, but ${pending}, the suspected leaked key, may still work until it is regenerated: the key-rotation timer does that on its next run, or run \`npm run rotate -- --resource ${resource.name} --repair\``
        }`,
      );
    }
    try {
      await this.#keepOrRetake(run);
      const repaired = await this.#repair.store(resource, snapshot, () => run.lease.keep(), run.changes);
      return withDiagnosis(
        failure,
        `${did}; afterwards the secret held a key the account no longer has, so this run stored ${repaired.held} (version ${repaired.snapshot.secret.version}), which the account has and the token service accepts`,
      );
    } catch (error) {
      const unrepaired = ensureRotationError(error);
      if (unrepaired.code === 'rotation_secret_dead' || unrepaired.code === 'rotation_secret_unrecognized')
        return withDiagnosis(unrepaired, `${did}; afterwards ${unrepaired.diagnosis}`);
      return secretDead(
        resource.name,
        `${did}; afterwards the secret holds a key the account no longer has, and putting it right failed: ${unrepaired.diagnosis}`,
        unrepaired,
      );
    }
  }

  /** The lease for a repair: the run's own if it can still be kept, else taken anew (when free). */
  async #keepOrRetake(run: Run): Promise<void> {
    try {
      await run.lease.keep();
    } catch {
      run.lease = await this.#acquire(run.resource, run.holder, run.mode);
    }
  }

  async #dryRun(resource: TokenResource, mode: RotationMode): Promise<RotationOutcome> {
    const snapshot = await this.#repair.snapshot(resource);
    const would: string[] = [];
    let held = slotOf(snapshot.keys, snapshot.secret.value);
    if (held === undefined) {
      held = await this.#repair.workingSlot(resource, snapshot);
      would.push(`store ${held} in place of the key the secret holds, which the account no longer has`);
    }
    const state = rotationStateOf(snapshot.secret);
    if (state.pending !== null && state.pending !== held)
      would.push(`regenerate ${state.pending}, the suspected leaked key an interrupted --leaked left working`);
    const skip = this.#skipReason(mode, state, held, snapshot.secret.version);
    if (skip === undefined) {
      const next = otherKey(held);
      would.push(
        `regenerate ${next} and store it in secret "${resource.secretName}"${mode === 'leaked' ? `, then regenerate ${held}` : ''}`,
      );
    }
    if (would.length === 0) return this.#skipped(resource, held, `dry run: ${skip ?? ''}`);
    return {
      resource: resource.name,
      action: skip === undefined ? 'would_rotate' : 'would_repair',
      keyName: held,
      reason: `dry run: would ${would.join(', then ')}; nothing was changed`,
    };
  }

  #skipped(resource: TokenResource, keyName: KeyName | undefined, reason: string): RotationOutcome {
    return { resource: resource.name, action: 'skipped', ...(keyName === undefined ? {} : { keyName }), reason };
  }

  #failed(
    resource: TokenResource,
    failure: RotationError,
    logger: Logger,
    runBy: RotationRunner = 'operator',
  ): RotationOutcome {
    const fix = fixFor(failure, runBy);
    logger.error(EVENTS.keyRotationFailed, {
      resource: resource.name,
      code: failure.code,
      diagnosis: failure.diagnosis,
      fix,
    });
    return { resource: resource.name, action: 'failed', code: failure.code, detail: failure.diagnosis, fix };
  }
}

/** The same failure, saying more about what happened. */
function withDiagnosis(failure: RotationError, diagnosis: string): RotationError {
  return new RotationError(failure.code, failure.message, { diagnosis, fix: failure.fix, cause: failure.cause });
}
