import { afterAll, beforeAll } from 'vitest';
import {
  startFakeManagedIdentity,
  type FakeManagedIdentity,
  type FakeManagedIdentityOptions,
} from '../../devstack/fakes/managedIdentity.js';

/**
 * One fake managed-identity endpoint for the whole test file, in `process.env` (IDENTITY_ENDPOINT,
 * IDENTITY_HEADER) from `beforeAll` to `afterAll`: MSAL remembers the managed-identity source it
 * found per process, so a file cannot move to another endpoint. Call it at the top of the file,
 * before the hooks that use it. Returns the endpoint, which exists once `beforeAll` has run.
 */
export function useFileManagedIdentity(options: FakeManagedIdentityOptions = {}): () => FakeManagedIdentity {
  let identity: FakeManagedIdentity | undefined;
  const saved = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
  beforeAll(async () => {
    identity = await startFakeManagedIdentity(options);
    Object.assign(process.env, identity.env);
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
    await identity?.close();
  });
  return () => {
    if (identity === undefined)
      throw new Error('The managed-identity fake starts in beforeAll: use it from a hook or a test.');
    return identity;
  };
}
