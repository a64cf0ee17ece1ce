import { keyVaultScope } from '../clouds/clouds.js';
import type { Parts } from '../composition.js';
import { ensureVendingError } from '../errors/serviceError.js';
import { membersOf } from '../model.js';

/**
 * What an instance does as it starts, before any caller asks: OIDC discovery then the signing
 * keys, and side by side for every resource whose credential callers share (Key Vault then the
 * STS), into the same caches and
 * single flights a request uses, so the first caller waits only for what is still missing. The
 * app's own token for Key Vault is asked for at the same moment, beside the vault's challenge round
 * trip rather than after it (the credential caches it for the read).
 * Never throws: a failure is logged as `warm_up_failed` with its code and leaves the lazy path
 * (and the error it reports) as it would have been.
 */
export async function warmUp({
  authenticator,
  cache,
  config,
  credential,
  failover,
  kinds,
  logger,
}: Parts): Promise<void> {
  const report = (step: string, resource: string | undefined) => (error: unknown) => {
    const failure = ensureVendingError(error);
    logger.warn('warm_up_failed', {
      step,
      resource,
      code: failure.code,
      upstreamCode: failure.upstreamCode,
      diagnosis: failure.diagnosis,
      fix: failure.fix,
    });
  };
  // A failure here shows up again, classified, in the Key Vault read it was meant to speed up.
  const vaultToken = credential.getToken(keyVaultScope(config.keyVaultUri)).catch(() => null);
  await Promise.all([
    vaultToken,
    authenticator.warmUp().catch(report('caller_authentication', undefined)),
    // Only credentials shared between callers are minted ahead; a per-caller one is minted per request.
    // Fallbacks too, so a failover costs no Key Vault read, and a member failing already is passed by.
    ...config.resources
      .filter((resource) => kinds.of(resource).sharedBetweenCallers)
      .flatMap((resource) =>
        failover.covers(resource)
          ? membersOf(resource).map((member) =>
              failover.check(member).then(() => undefined, report('token', member.name)),
            )
          : [cache.get(resource).then(() => undefined, report('token', resource.name))],
      ),
  ]);
}
