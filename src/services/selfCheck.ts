import type { Parts } from '../composition.js';
import { describeError } from '../errors/serviceError.js';
import type { Logger } from '../log/logger.js';
import type { DoctorCause } from '../kinds/finding.js';
import { allMembers, type TokenResource } from '../model.js';
import { EVENTS, NO_CODE } from '../telemetry/names.js';
import type { RequestCorrelation } from '../telemetry/telemetry.js';

/** One resource's result, as logged (`resource_health`) and counted (`self_checks`). */
export interface ResourceHealth {
  readonly resource: string;
  readonly healthy: boolean;
  /** The doctor's cause; null when healthy. */
  readonly code: DoctorCause | null;
  readonly fix: string | null;
  readonly detail: string;
}

/** How long the run waits for its results to be exported before it ends (a scaled-in instance loses the rest). */
const FLUSH_BUDGET_MS = 10_000;

/**
 * Checks every resource, and every failover member (`speech.failover[0]`), with the doctor's
 * diagnosis (Key Vault, the key's shape, the exchange, and for Speech a call with the token),
 * taking the token from the cache: a fresh one costs no STS call, a stale one is refreshed exactly
 * as a request would refresh it. A member's result is its health for failover too (a failing one
 * that works serves again). Logs `resource_health` per member, counts `self_checks` and reports
 * who serves each resource with fallbacks (`failover_serving_member`); never throws.
 */
export async function runSelfCheck(
  parts: Parts,
  logger: Logger,
  correlation: RequestCorrelation,
): Promise<readonly ResourceHealth[]> {
  const { config, telemetry } = parts;
  const results = await Promise.all(
    allMembers(config.resources).map((resource) => checkOne(resource, parts, correlation)),
  );
  parts.failover.report();
  for (const result of results) {
    const fields = { resource: result.resource, healthy: result.healthy, code: result.code, fix: result.fix };
    if (result.healthy) logger.info(EVENTS.resourceHealth, { ...fields, detail: result.detail });
    else logger.warn(EVENTS.resourceHealth, { ...fields, detail: result.detail });
    telemetry.count('self_checks', {
      resource: result.resource,
      healthy: String(result.healthy),
      code: result.code ?? NO_CODE,
    });
  }
  await Promise.race([telemetry.flush(), new Promise((resolve) => setTimeout(resolve, FLUSH_BUDGET_MS).unref())]);
  return results;
}

async function checkOne(
  resource: TokenResource,
  parts: Parts,
  correlation: RequestCorrelation,
): Promise<ResourceHealth> {
  const obtain = (r: TokenResource) =>
    parts.failover.member(r) ? parts.failover.check(r, correlation) : parts.cache.get(r, correlation);
  try {
    const shared = parts.kinds.of(resource).sharedBetweenCallers;
    const finding = await parts
      .bound(resource)
      .probe(resource, shared ? { obtainToken: async (r) => (await obtain(r)).token } : {});
    return {
      resource: resource.name,
      healthy: finding.ok,
      code: finding.cause,
      fix: finding.fix,
      detail: finding.detail,
    };
  } catch (error) {
    return {
      resource: resource.name,
      healthy: false,
      code: 'internal_error',
      fix: 'A bug in the self-check; report it with this line.',
      detail: describeError(error),
    };
  }
}
