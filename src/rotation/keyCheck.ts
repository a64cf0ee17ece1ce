import { resolveIssueTokenUrl } from '../clouds/endpoints.js';
import { ensureVendingError } from '../errors.js';
import type { TokenResource } from '../model.js';
import type { StsClient, StsRetryPolicy } from '../sts/stsClient.js';
import { repairUnverified } from './rotationError.js';

/**
 * Whether the resource's token service accepts `key` (an exchange at its `issueToken`, the token
 * thrown away): `true`, or `false` for a 401. Any other failure (unreachable, 5xx, timeout) throws
 * `rotation_repair_unverified`: the rotation then changes nothing on this evidence.
 */
export type KeyCheck = (resource: TokenResource, key: string) => Promise<boolean>;

/** Two attempts within 8 s, as the doctor probes. */
const CHECK: StsRetryPolicy = { maxAttempts: 2, budgetMs: 8000 };

/** The key check through the app's own STS client (its endpoints, timeouts and telemetry). */
export function stsKeyCheck(sts: Pick<StsClient, 'issueToken'>): KeyCheck {
  return async (resource, key) => {
    const url = resolveIssueTokenUrl(resource);
    try {
      await sts.issueToken({ url, key, resource: resource.name }, CHECK);
      return true;
    } catch (error) {
      const failure = ensureVendingError(error);
      if (failure.code === 'key_rejected') return false;
      throw repairUnverified(
        `the token service at ${new URL(url).host} could not say whether it accepts a key (${failure.code}: ${failure.diagnosis ?? failure.detail})`,
        failure,
      );
    }
  };
}
