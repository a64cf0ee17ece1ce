import type { Config, KeyName, TokenResource } from '../model.js';
import type { Logger } from '../log/logger.js';
import type { AccountKeys, AccountKeysClient } from './accountKeys.js';
import type { KeyCheck } from './keyCheck.js';
import {
  conflict,
  ensureRotationError,
  repairUnverified,
  secretDead,
  secretUnrecognized,
  type RotationError,
} from './rotationError.js';
import type { RotationSecretStore, StoredKey } from './rotationSecret.js';
import { otherKey, rotationStateOf, rotationTags } from './rotationState.js';

/** The secret's latest version and the account's keys, read one after the other. Never log it. */
export interface Snapshot {
  readonly secret: StoredKey;
  readonly keys: AccountKeys;
}

/** Write-and-check rounds of a repair; each is one write, one read and one listKeys. */
const MAX_REPAIR_ROUNDS = 3;

export interface SecretRepairOptions {
  readonly config: Config;
  readonly accounts: AccountKeysClient;
  readonly store: RotationSecretStore;
  readonly checkKey: KeyCheck;
  readonly now: () => number;
  readonly logger: Logger;
}

/**
 * What the secret and the account say together, and how a secret that holds a key the account no
 * longer has is put right: with the account's key that works (the one the account has and the
 * resource's token service accepts), never on a guess.
 */
export class SecretRepair {
  readonly #options: SecretRepairOptions;

  constructor(options: SecretRepairOptions) {
    this.#options = options;
  }

  /** The secret's latest version, then the account's keys. */
  async snapshot(resource: TokenResource): Promise<Snapshot> {
    const secret = await this.#options.store.read(resource.secretName);
    const keys = await this.#options.accounts.listKeys(resource);
    return { secret, keys };
  }

  /**
   * Reads both again; throws `rotation_conflict` (saying what moved, `when`) unless the latest
   * version, its key and the account's keys are still `expected`'s. Resolves to what was read.
   */
  async unchanged(resource: TokenResource, expected: Snapshot, when: string): Promise<Snapshot> {
    const now = await this.snapshot(resource);
    const moved = [
      ...(now.secret.version === expected.secret.version && now.secret.value === expected.secret.value
        ? []
        : [`the latest version of ${this.where(resource)} is ${now.secret.version}, not ${expected.secret.version}`]),
      ...(['key1', 'key2'] as const)
        .filter((k) => now.keys[k] !== expected.keys[k])
        .map((k) => `${k} of ${resource.resourceId ?? ''} changed`),
    ];
    if (moved.length > 0) throw conflict(`${when}: ${moved.join(' and ')}; it was left as it is`);
    return now;
  }

  /**
   * The account's key to store in place of the dead one the secret holds: the slot its `keyName`
   * tag names first, then the other, whichever the token service accepts. Throws
   * `rotation_secret_unrecognized` when the token service accepts the secret's own key (it works:
   * another account's, so `resourceId` is wrong), and `rotation_repair_unverified` when it accepts
   * neither of the account's keys or cannot be asked.
   */
  async workingSlot(resource: TokenResource, snapshot: Snapshot): Promise<KeyName> {
    const { checkKey } = this.#options;
    const tagged = rotationStateOf(snapshot.secret).keyName;
    if (await checkKey(resource, snapshot.secret.value))
      throw secretUnrecognized(this.where(resource), resource.resourceId ?? '', tagged);
    for (const slot of tagged === null ? (['key1', 'key2'] as const) : [tagged, otherKey(tagged)]) {
      if (await checkKey(resource, snapshot.keys[slot])) return slot;
    }
    throw repairUnverified(
      `${this.where(resource)} holds a key ${resource.resourceId ?? ''} no longer has, and the token service rejects both of the account's keys, so the account is not the one the resource's endpoint serves`,
    );
  }

  /**
   * Stores the account's working key in place of the dead one `snapshot` shows, calling `keep`
   * (the lease) before each write and noting each write in `changes`. Resolves once the latest
   * version holds a key the account has. Throws `rotation_secret_dead` when it could not store one.
   */
  async store(
    resource: TokenResource,
    snapshot: Snapshot,
    keep: () => Promise<void>,
    changes: string[],
  ): Promise<{ snapshot: Snapshot; held: KeyName }> {
    const { store, now, logger } = this.#options;
    let current = snapshot;
    let last: RotationError | undefined;
    for (let round = 0; round < MAX_REPAIR_ROUNDS; round++) {
      const slot = await this.workingSlot(resource, current);
      await keep();
      try {
        const version = await store.write(resource.secretName, current.keys[slot], {
          tags: rotationTags(slot, now()),
          contentType: `text/plain; Azure AI services ${slot} of ${resource.resourceId ?? ''}`,
          expiresOn: undefined,
        });
        changes.push(`stored ${slot} (version ${version}) in place of a key the account no longer has`);
        logger.warn('key_secret_repaired', {
          resource: resource.name,
          keyName: slot,
          secret: resource.secretName,
          version,
        });
      } catch (error) {
        last = ensureRotationError(error);
        // Worth another round only when Key Vault failed; a refusal stays a refusal.
        if (last.code !== 'rotation_secret_write_failed') break;
      }
      current = await this.snapshot(resource);
      const held = slotOf(current.keys, current.secret.value);
      if (held !== undefined) return { snapshot: current, held };
    }
    throw secretDead(
      resource.name,
      `${this.where(resource)} holds a key ${resource.resourceId ?? ''} no longer has, and storing the account's working key failed${last === undefined ? ` ${MAX_REPAIR_ROUNDS} times` : `: ${last.diagnosis}`}`,
      last,
    );
  }

  where(resource: TokenResource): string {
    return `secret "${resource.secretName}" in ${this.#options.config.keyVaultUri}`;
  }
}

/** Which of the account's keys `value` is, compared without logging either. */
export function slotOf(keys: AccountKeys, value: string): KeyName | undefined {
  if (value === keys.key1) return 'key1';
  if (value === keys.key2) return 'key2';
  return undefined;
}
