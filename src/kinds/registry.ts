import type { TokenResource } from '../model.js';
import type { CredentialKind } from './kind.js';
import { realtimeKind } from './openai/realtimeKind.js';
import { REALTIME_KIND_NAME } from './openai/realtimeResource.js';
import { stsKind } from './sts/stsKind.js';
import { STS_KIND_NAMES } from './sts/stsResource.js';

/** The kinds the service ships with; a new kind is registered here (and its names below). */
export const BUILT_IN_KINDS: readonly CredentialKind[] = [stsKind, realtimeKind];

/** Every canonical kind name of `BUILT_IN_KINDS`, for the answers' schema (`contract/answers.ts`). */
export const BUILT_IN_KIND_NAMES = [...STS_KIND_NAMES, REALTIME_KIND_NAME] as const;

/** The kinds one instance serves, by name: the flow, the settings parser and the doctor look modules up here. */
export class KindRegistry {
  readonly kinds: readonly CredentialKind[];
  readonly #byName = new Map<string, { readonly kind: CredentialKind; readonly name: string }>();

  constructor(kinds: readonly CredentialKind[] = BUILT_IN_KINDS) {
    this.kinds = kinds;
    for (const kind of kinds) {
      for (const name of kind.names) this.#byName.set(name, { kind, name });
      for (const [alias, name] of Object.entries(kind.aliases)) this.#byName.set(alias.toLowerCase(), { kind, name });
    }
  }

  /** Canonical names, in registration order. */
  get names(): string[] {
    return this.kinds.flatMap((kind) => [...kind.names]);
  }

  /** Other spellings of the kinds (Azure's account kinds), as the modules spell them. */
  get aliases(): Readonly<Record<string, string>> {
    return Object.assign({}, ...this.kinds.map((kind) => kind.aliases)) as Record<string, string>;
  }

  /** Every field a resource of some kind may have, beyond the common ones. */
  get fields(): string[] {
    return [...new Set(this.kinds.flatMap((kind) => kind.fields))];
  }

  /** The module serving `kind` as an operator spelled it (case-insensitive, aliases resolved), and its canonical name. */
  find(kind: string): { readonly kind: CredentialKind; readonly name: string } | undefined {
    return this.#byName.get(kind.trim().toLowerCase());
  }

  /**
   * Why an unknown `kind` cannot be served, when a module says (`refusedNames`): a message naming
   * what to use instead, or `undefined`.
   */
  refusal(kind: string): string | undefined {
    const name = kind.trim().toLowerCase();
    return this.kinds.map((module) => module.refusedNames?.[name]).find((message) => message !== undefined);
  }

  /** The module of a configured resource; its kind was resolved by `find` when the settings were read. */
  of(resource: TokenResource): CredentialKind {
    const found = this.#byName.get(resource.kind);
    if (found === undefined) throw new Error(`no credential kind "${resource.kind}" is registered`);
    return found.kind;
  }
}
