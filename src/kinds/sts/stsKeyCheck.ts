import { ensureVendingError } from '../../errors/serviceError.js';
import { repairUnverified } from '../../rotation/rotationError.js';
import type { StsClient, StsRetryPolicy } from '../../sts/stsClient.js';
import { resolveIssueTokenUrl } from './stsEndpoints.js';
import type { StsResource } from './stsResource.js';

/** Two attempts within 8 s, as the doctor probes. */
const CHECK: StsRetryPolicy = { maxAttempts: 2, budgetMs: 8000 };

/**
 * Whether the resource's STS accepts `key` (an exchange at its `issueToken`, the token thrown
 * away), through the kind's own STS client (its endpoints, timeouts and telemetry): `true`, or
 * `false` for a 401. Any other failure throws `rotation_repair_unverified`.
 */
export async function stsAcceptsKey(
  sts: Pick<StsClient, 'issueToken'>,
  resource: StsResource,
  key: string,
): Promise<boolean> {
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
}
