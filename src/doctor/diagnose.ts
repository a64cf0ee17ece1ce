import { composeParts, type Dependencies, type Parts } from '../composition.js';
import { ConfigurationError, formatProblem, loadConfig, type Environment } from '../config/settings.js';
import { ensureVendingError } from '../errors/serviceError.js';
import type { Finding, ProbeOptions } from '../kinds/finding.js';
import { KindRegistry } from '../kinds/registry.js';
import { allMembers, canonicalResourceName, type ConfigWarning } from '../model.js';

export type { Finding } from '../kinds/finding.js';

/** How the doctor runs: its kinds' probe options, and a caller's token to judge as the service would. */
export interface DiagnoseOptions extends ProbeOptions {
  /**
   * An access token a client sent (or would send): the `(callers)` finding says whether the
   * service accepts it and, if not, the same code and diagnosis the service logs (`--token`).
   */
  readonly callerToken?: string;
}

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
  const { callerToken, ...probeOptions } = options;
  const findings: Finding[] = [await diagnoseCallers(parts, callerToken)];
  for (const resource of allMembers(config.resources)) {
    findings.push(await parts.bound(resource).probe(resource, { checkRotationPermissions: true, ...probeOptions }));
  }
  return withSettingsWarnings(findings, config.warnings);
}

/**
 * The settings' warnings, which the service logs once at start-up (`configuration_warning`), on
 * the findings they are about, so the doctor says what the service says: a resource's on its own
 * finding (an endpoint read as another origin), the others on `(callers)` (an authority host that
 * is no known Entra host).
 */
function withSettingsWarnings(findings: readonly Finding[], warnings: readonly ConfigWarning[]): Finding[] {
  const names = new Set(findings.map((finding) => canonicalResourceName(finding.resource)));
  const findingOf = (warning: ConfigWarning) =>
    warning.resource !== undefined && names.has(canonicalResourceName(warning.resource))
      ? canonicalResourceName(warning.resource)
      : canonicalResourceName(CALLERS);
  return findings.map((finding) => {
    const own = warnings
      .filter((warning) => findingOf(warning) === canonicalResourceName(finding.resource))
      .map(formatProblem);
    return own.length === 0 ? finding : { ...finding, warnings: [...(finding.warnings ?? []), ...own] };
  });
}

/** The finding about callers: not a resource, and named so that no resource can be. */
export const CALLERS = '(callers)';

/**
 * Whether any caller can get through: OIDC discovery for the tenant at the authority host, then its
 * signing keys, exactly as the service fetches them. Without them every caller gets 503. With a
 * caller's token, whether the service accepts it, judged by the same code as a request.
 */
async function diagnoseCallers(parts: Parts, callerToken: string | undefined): Promise<Finding> {
  const { tenantId, authorityHost, audiences } = parts.config.auth;
  const failedWith = (error: unknown): Finding => {
    const failure = ensureVendingError(error);
    return {
      resource: CALLERS,
      ok: false,
      cause: failure.code,
      detail: failure.diagnosis ?? failure.message,
      // A refused token has no operator fix; what its sender must do is the caller's detail.
      fix: failure.fix ?? failure.detail,
    };
  };
  try {
    await parts.authenticator.warmUp();
  } catch (error) {
    return failedWith(error);
  }
  let accepted = '';
  if (callerToken !== undefined) {
    try {
      const caller = await parts.authenticator.authenticate(`Bearer ${callerToken.trim()}`);
      accepted = `; the given token is accepted (client app ${caller.clientAppId}, roles ${caller.roles.join(' ') || 'none'}, scopes ${caller.scopes.join(' ') || 'none'})`;
    } catch (error) {
      return failedWith(error);
    }
  }
  return {
    resource: CALLERS,
    ok: true,
    cause: null,
    detail: `tenant ${tenantId} publishes its signing keys at ${authorityHost}; tokens for ${audiences.join(' or ')} are accepted${accepted}`,
    fix: null,
  };
}
