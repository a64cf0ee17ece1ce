import { ensureVendingError, type VendingError } from '../../errors/serviceError.js';
import { repairUnverified } from '../../rotation/rotationError.js';
import { checkRotation } from '../../rotation/rotationFacts.js';
import type { SecretValue } from '../../secrets/keyVaultSecretSource.js';
import type { Finding, ProbeOptions } from '../finding.js';
import type { KindSteps } from '../kind.js';
import { identityUnavailable } from './realtimeAnswer.js';
import { callsUrl, mintUrl, REALTIME_CLOUDS } from './realtimeHosts.js';
import type { MintedKey, MintPolicy, RealtimeMinter } from './realtimeMint.js';
import type { RealtimeResource } from './realtimeResource.js';

/** One attempt within 8 s: a failing mint is reported, not retried at length. */
const PROBE: MintPolicy = { maxAttempts: 1, attemptTimeoutMs: 8000, budgetMs: 8000 };

/**
 * The doctor's check of a realtime resource, in the order a request depends on them, stopping at
 * the first failure: the managed identity's token for the resource's audience (key mode: the Key
 * Vault secret), one mint whose key is thrown away, and the WebRTC URL callers are sent to. Each
 * failure is named with the code and fix a caller's request would log (`deployment_not_found`,
 * `identity_role_missing`, …). Never reports a key or a token.
 */
export async function probeRealtimeResource(
  resource: RealtimeResource,
  context: { readonly steps: KindSteps; readonly minter: RealtimeMinter },
  options: ProbeOptions = {},
): Promise<Finding> {
  const { steps, minter } = context;
  const failedWith = (failure: VendingError): Finding => ({
    resource: resource.name,
    ok: false,
    cause: failure.code,
    detail: failure.diagnosis ?? failure.message,
    fix: failure.fix ?? null,
  });
  const { scope } = REALTIME_CLOUDS[resource.cloud];
  let authenticated: string;
  let secret: SecretValue | undefined;
  if (resource.auth === 'identity') {
    try {
      const token = await steps.credential.getToken(scope);
      if (token === null) throw new Error('the credential returned no token');
    } catch (error) {
      return failedWith(identityUnavailable(resource.name, scope, error));
    }
    authenticated = `the managed identity has a token for ${scope.replace(/\/\.default$/, '')}`;
  } else {
    try {
      secret = await steps.secrets.getSecret(resource.secretName);
    } catch (error) {
      return failedWith(ensureVendingError(error));
    }
    authenticated = `the key in secret "${resource.secretName}" was read`;
  }
  let minted: MintedKey;
  try {
    minted = await minter.mint(resource, undefined, PROBE);
  } catch (error) {
    return failedWith(ensureVendingError(error));
  }
  const rotation =
    secret === undefined || resource.resourceId === null
      ? undefined
      : await checkRotation(
          resource,
          { ...steps.rotationFacts, checkPermissions: options.checkRotationPermissions === true },
          secret,
        );
  if (rotation?.ok === false)
    return {
      resource: resource.name,
      ok: false,
      cause: rotation.failure.code,
      detail: rotation.failure.diagnosis,
      fix: rotation.failure.fix,
    };
  const { model, voice } = minted.answer.session;
  const lifetime = Math.ceil((minted.expiresAt - minted.issuedAt) / 1000);
  return {
    resource: resource.name,
    ok: true,
    cause: null,
    detail: `${authenticated}; ${new URL(mintUrl(resource.endpoint)).host} minted a key for deployment "${resource.deployment}" (model ${model}${voice === null ? '' : `, voice ${voice}`}, ${lifetime} s; discarded); callers connect to ${callsUrl(resource.endpoint)}${rotation === undefined ? '' : `; ${rotation.summary}`}`,
    fix: null,
    ...(rotation === undefined ? {} : { rotation: rotation.facts }),
  };
}

/**
 * Whether the resource accepts `key` (one mint, its key thrown away): `true`, or `false` when it
 * is rejected. Any other failure throws `rotation_repair_unverified`.
 */
export async function realtimeAcceptsKey(
  minter: RealtimeMinter,
  resource: RealtimeResource,
  key: string,
): Promise<boolean> {
  try {
    await minter.mintWithKey(resource, key, { maxAttempts: 2, budgetMs: 8000 });
    return true;
  } catch (error) {
    const failure = ensureVendingError(error);
    if (failure.code === 'key_rejected') return false;
    throw repairUnverified(
      `${new URL(resource.endpoint).host} could not say whether it accepts a key (${failure.code}: ${failure.diagnosis ?? failure.detail})`,
      failure,
    );
  }
}
