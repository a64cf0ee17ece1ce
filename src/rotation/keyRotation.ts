import type { LogFields, Logger } from '../log/logger.js';
import { EVENTS } from '../telemetry/names.js';
import { canonicalResourceName, type Config, type KeyName, type TokenResource } from '../model.js';
import { SingleFlight } from '../singleFlight.js';
import type { AccountKeys, AccountKeysClient } from './accountKeys.js';
import {
  ACCOUNT_ROLE_FIX,
  ensureRotationError,
  permissionMissing,
  resourceIdMissing,
  RotationError,
  secretUnrecognized,
  unconfirmed,
  type RotationCode,
} from './rotationError.js';
import type { RotationSecretStore, StoredKey } from './rotationSecret.js';
import { nextRotationAt, otherKey, otherKeyFreeAt, rotationStateOf, rotationTags } from './rotationState.js';

/**
 * `due`: rotate what the schedule says is due (the timer, and `npm run rotate` without a flag).
 * `now`: rotate at once, as long as no instance can still hold the key that is regenerated.
 * `leaked`: the key in use may have leaked: rotate at once, then regenerate the replaced key too.
 */
export type RotationMode = 'due' | 'now' | 'leaked';

/** One resource's result, as `npm run rotate -- --json` prints it. Never holds a key. */
export interface RotationOutcome {
  readonly resource: string;
  readonly action: 'rotated' | 'skipped' | 'failed';
  /** The key the secret holds afterwards (rotated) or now (skipped), when known. */
  readonly keyName?: KeyName;
  /** Why it was skipped, or what was done. */
  readonly reason?: string;
  readonly code?: RotationCode;
  readonly detail?: string;
  readonly fix?: string;
}

export interface RotationRunOptions {
  readonly mode: RotationMode;
  /** Read what is needed to decide, change nothing. */
  readonly dryRun?: boolean;
  /** Only this resource, by name; default: every resource that has a `resourceId`. */
  readonly resource?: string;
  /** Added to this run's log lines, e.g. the timer's invocation id. */
  readonly logFields?: LogFields;
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
  readonly now: () => number;
  readonly logger: Logger;
}

/** Verify-and-repair rounds after a write; each is one read and one listKeys. */
const MAX_STORE_ROUNDS = 3;

/**
 * Dual-key rotation: the secret holds one of the account's two keys; a rotation regenerates the
 * other (which no instance can still hold), stores it as a new version tagged `keyName` and
 * `rotatedAt`, and instances switch within SECRET_MAX_AGE_MINUTES while the replaced key keeps
 * working until the next rotation regenerates it.
 *
 * Key Vault has no conditional write, so two rotators (the timer and the CLI, two instances) are
 * kept consistent by reading again: right before writing (a newer version that holds a working key
 * means another rotator got there first, and this one does not write), and after writing (a stored
 * key the account no longer has is replaced by the account's current one). Every rotation ends
 * with the secret holding a key the account accepts, or reports why it could not tell.
 */
export class KeyRotation implements Rotation {
  readonly #options: KeyRotationOptions;
  readonly #flights = new SingleFlight<RotationOutcome>();

  constructor(options: KeyRotationOptions) {
    this.#options = options;
  }

  async run(options: RotationRunOptions): Promise<RotationOutcome[]> {
    const { resources } = this.#options.config;
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
        outcomes.push(this.#failed(resource, resourceIdMissing(resource.name), logger));
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
      // A run asking for the same thing joins one in flight; another mode runs on its own, and the
      // reads before and after writing keep the two consistent.
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
        await this.#options.store.touch(resource.secretName, version.version, version.tags);
      return undefined;
    } catch (error) {
      return ensureRotationError(error);
    }
  }

  async #rotate(resource: TokenResource, options: RotationRunOptions, logger: Logger): Promise<RotationOutcome> {
    try {
      return await this.#rotateOrThrow(resource, options, logger);
    } catch (error) {
      return this.#failed(resource, ensureRotationError(error), logger);
    }
  }

  async #rotateOrThrow(resource: TokenResource, options: RotationRunOptions, logger: Logger): Promise<RotationOutcome> {
    const { config, accounts, store, now } = this.#options;
    const { periodDays } = config.rotation;
    const before = await store.read(resource.secretName);
    const state = rotationStateOf(before);
    const inUse = state.keyName ?? undefined;
    const skipped = (reason: string): RotationOutcome => ({
      resource: resource.name,
      action: 'skipped',
      ...(inUse === undefined ? {} : { keyName: inUse }),
      reason,
    });
    const since = state.since === null ? 'an unknown time' : new Date(state.since).toISOString();
    const current = inUse ?? 'the key in use';

    if (options.mode === 'due') {
      const dueAt = nextRotationAt(state, periodDays);
      if (periodDays === 0)
        return skipped('scheduled rotation is off (KEY_ROTATION_DAYS is 0); --now or --leaked rotate on demand');
      if (dueAt !== null && now() < dueAt)
        return skipped(`not due: ${current} in use since ${since}; next rotation at ${new Date(dueAt).toISOString()}`);
    }
    if (options.mode === 'now') {
      const freeAt = otherKeyFreeAt(state, config.secretMaxAgeMs);
      if (now() < freeAt) {
        return skipped(
          `the other key was in use until ${since} and instances may hold it until ${new Date(freeAt).toISOString()} (SECRET_MAX_AGE_MINUTES): regenerating it now could cut them off; use --leaked if the key in use leaked`,
        );
      }
    }

    // The account, not the tag, says which key the secret holds: regenerating the wrong one would
    // take away the key every instance uses.
    const keys = await accounts.listKeys(resource);
    const held = slotOf(keys, before.value);
    if (held === undefined) throw secretUnrecognized(this.#where(resource), resource.resourceId ?? '', state.keyName);
    const next = otherKey(held);

    if (options.dryRun) {
      return {
        resource: resource.name,
        action: 'skipped',
        keyName: held,
        reason: `dry run: would regenerate ${next} and store it in secret "${resource.secretName}"${options.mode === 'leaked' ? `, then regenerate ${held}` : ''}; nothing was changed`,
      };
    }

    const regenerated = await accounts.regenerateKey(resource, next);
    const stored = await this.#store(resource, before, next, regenerated[next]);
    if (!stored.mine) {
      if (options.mode === 'leaked' && stored.keyName !== next)
        throw unconfirmed(
          this.#where(resource),
          `another rotator stored ${stored.keyName} while this one replaced ${held}`,
        );
      if (options.mode !== 'leaked') {
        const reason = `another rotator stored ${stored.keyName} (version ${stored.version}) at the same time; this run's regeneration was superseded`;
        logger.info('key_rotation_skipped', { resource: resource.name, keyName: stored.keyName, reason });
        return { resource: resource.name, action: 'skipped', keyName: stored.keyName, reason };
      }
    }
    if (options.mode === 'leaked') {
      // Only after the new key is stored: instances still holding the leaked key then get an STS
      // 401, read the secret again and find the new one.
      try {
        await accounts.regenerateKey(resource, held);
      } catch (error) {
        const failure = ensureRotationError(error);
        throw new RotationError(failure.code, failure.message, {
          diagnosis: `${failure.diagnosis}; ${next} was regenerated and stored (version ${stored.version}) and is in use, but ${held}, the suspected leaked key, still works`,
          fix: `${failure.fix} Then run \`npm run rotate -- --resource ${resource.name} --leaked\` again: it regenerates both keys once more.`,
        });
      }
    }
    logger.info(EVENTS.keyRotated, {
      resource: resource.name,
      keyName: next,
      secret: resource.secretName,
      version: stored.version,
      mode: options.mode,
    });
    return {
      resource: resource.name,
      action: 'rotated',
      keyName: next,
      reason:
        options.mode === 'leaked'
          ? `regenerated ${next}, stored it (version ${stored.version}), then regenerated ${held}: no key from before works`
          : `regenerated ${next} and stored it (version ${stored.version}); ${held} keeps working until the next rotation regenerates it`,
    };
  }

  /**
   * Stores `value` (the account's new `keyName`) unless another rotator's newer version already
   * holds a working key, then reads both back until the latest version holds a key the account has.
   */
  async #store(
    resource: TokenResource,
    before: StoredKey,
    keyName: KeyName,
    value: string,
  ): Promise<{ version: string; keyName: KeyName; mine: boolean }> {
    const { accounts, store, now, config } = this.#options;
    const where = this.#where(resource);
    let expected = before.version;
    let candidate = value;
    for (let round = 0; round < MAX_STORE_ROUNDS; round++) {
      const latest = await store.read(resource.secretName);
      if (latest.version !== expected) {
        const keys = await accounts.listKeys(resource);
        const slot = slotOf(keys, latest.value);
        if (slot !== undefined) return { version: latest.version, keyName: slot, mine: false };
        candidate = keys[keyName];
      }
      const at = now();
      const written = await store.write(resource.secretName, candidate, keyName, {
        tags: rotationTags(keyName, at),
        contentType: `text/plain; Azure AI services ${keyName} of ${resource.resourceId ?? ''}`,
        // When the key is due to be regenerated: two periods on, if the schedule keeps running.
        expiresOn: config.rotation.periodDays > 0 ? at + 2 * config.rotation.periodDays * 86_400_000 : undefined,
      });
      const check = await store.read(resource.secretName);
      const keys = await accounts.listKeys(resource);
      const slot = slotOf(keys, check.value);
      if (slot !== undefined) return { version: check.version, keyName: slot, mine: check.version === written };
      // A key the account no longer has: another rotator regenerated it after it was read. Store
      // the account's current one instead.
      candidate = keys[keyName];
      expected = check.version;
    }
    throw unconfirmed(
      where,
      `after ${MAX_STORE_ROUNDS} writes the latest version still held a key the account no longer has`,
    );
  }

  #failed(resource: TokenResource, failure: RotationError, logger: Logger): RotationOutcome {
    logger.error(EVENTS.keyRotationFailed, {
      resource: resource.name,
      code: failure.code,
      diagnosis: failure.diagnosis,
      fix: failure.fix,
    });
    return {
      resource: resource.name,
      action: 'failed',
      code: failure.code,
      detail: failure.diagnosis,
      fix: failure.fix,
    };
  }

  #where(resource: TokenResource): string {
    return `secret "${resource.secretName}" in ${this.#options.config.keyVaultUri}`;
  }
}

/** Which of the account's keys `value` is, compared without logging either. */
function slotOf(keys: AccountKeys, value: string): KeyName | undefined {
  if (value === keys.key1) return 'key1';
  if (value === keys.key2) return 'key2';
  return undefined;
}
