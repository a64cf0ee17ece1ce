import { composeParts, type Dependencies, type Parts } from '../composition.js';
import { ConfigurationError, formatProblem, loadConfig, type Environment } from '../config/settings.js';
import { ensureVendingError } from '../errors/serviceError.js';
import type { Finding, ProbeOptions } from '../kinds/finding.js';
import { KindRegistry } from '../kinds/registry.js';
import { allMembers } from '../model.js';

export type { Finding } from '../kinds/finding.js';

/** How the doctor runs: its kinds' probe options. */
export type DiagnoseOptions = ProbeOptions;

/**
 * Checks the settings, then whether callers can get through (`(callers)`), then each configured
 * resource with its kind's probe, each stopping at its first failure (for the STS kinds: Key
 * Vault, the key's shape, the exchange, for Speech a call with the fresh token, and unless
 * `checkRotationPermissions` is false the rotation's permissions). Never reports a key: at most
 * its length and last four characters.
 */
export async function diagnose(
  env: Environment,
  dependencies: Dependencies = {},
  options: DiagnoseOptions = {},
): Promise<Finding[]> {
  let config;
  try {
    config = loadConfig(env, new KindRegistry(dependencies.kinds));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.problems.map((problem) => ({
      resource: problem.resource ?? problem.setting,
      ok: false,
      cause: 'configuration_invalid',
      detail: formatProblem(problem),
      fix: 'Correct the setting as the detail says; `npm run dev` refuses to start until every problem is fixed.',
    }));
  }
  const parts = composeParts(config, dependencies);
  const findings: Finding[] = [await diagnoseCallers(parts)];
  for (const resource of allMembers(config.resources)) {
    findings.push(await parts.bound(resource).probe(resource, { checkRotationPermissions: true, ...options }));
  }
  return findings;
}

/** The finding about callers: not a resource, and named so that no resource can be. */
export const CALLERS = '(callers)';

/**
 * Whether any caller can get through: OIDC discovery for the tenant at the authority host, then its
 * signing keys, exactly as the service fetches them. Without them every caller gets 503.
 */
async function diagnoseCallers(parts: Parts): Promise<Finding> {
  const { tenantId, authorityHost, audiences } = parts.config.auth;
  try {
    await parts.authenticator.warmUp();
  } catch (error) {
    const failure = ensureVendingError(error);
    return {
      resource: CALLERS,
      ok: false,
      cause: failure.code,
      detail: failure.diagnosis ?? failure.message,
      fix: failure.fix ?? null,
    };
  }
  return {
    resource: CALLERS,
    ok: true,
    cause: null,
    detail: `tenant ${tenantId} publishes its signing keys at ${authorityHost}; tokens for ${audiences.join(' or ')} are accepted`,
    fix: null,
  };
}
