import { resolveClientEndpoints, resolveIssueTokenUrl } from '../clouds/endpoints.js';
import { regionsFor } from '../clouds/regions.js';
import { composeParts, type Dependencies, type Parts } from '../composition.js';
import { ConfigurationError, formatProblem, loadConfig, type Environment } from '../config/settings.js';
import { describeError, ensureVendingError, type ErrorCode, type VendingError } from '../errors.js';
import { CLOUD_NAMES, type CloudName, type TokenResource } from '../model.js';
import { describeKey, keyShape } from '../secrets/keyShape.js';
import { refuseSubscriptionId } from '../sts/keyExchange.js';
import type { StsRetryPolicy } from '../sts/stsClient.js';
import { withTimeout } from '../timeout.js';

/** One probe per resource: a failing exchange is reported, not retried at length. */
const PROBE: StsRetryPolicy = { maxAttempts: 2, budgetMs: 8000 };
/** --locate sends the key to many hosts; each gets one short attempt. */
const LOCATE_PROBE: StsRetryPolicy = { maxAttempts: 1, attemptTimeoutMs: 4000, budgetMs: 4000 };

/** Codes the doctor reports beyond the service's own: where a rejected key belongs, and the Speech check. */
export type DoctorCause = ErrorCode | 'region_mismatch' | 'cloud_mismatch' | 'token_rejected_by_service';

export interface Finding {
  readonly resource: string;
  readonly ok: boolean;
  readonly cause: DoctorCause | null;
  readonly detail: string;
  readonly fix: string | null;
  /** With --locate: where the key was accepted instead. */
  readonly foundAt?: { readonly cloud: CloudName; readonly region: string };
}

export interface DiagnoseOptions {
  /** Sends the key to the other regional STS endpoints of its provider to find where it belongs. */
  readonly locate?: boolean;
  /** How many regions are tried at once with --locate. Default 6. */
  readonly locateConcurrency?: number;
  /**
   * Where the exchange step gets its token. Default: a probe at the STS. The self-check passes the
   * token cache, so a fresh token costs no STS call.
   */
  readonly obtainToken?: (resource: TokenResource) => Promise<string>;
}

/**
 * Checks each configured resource in the order a token request depends on them, stopping at the
 * first failure: configuration, Key Vault, the key's shape, the exchange, and for Speech a call
 * with the fresh token. Never prints a key: at most its length and last four characters.
 */
export async function diagnose(
  env: Environment,
  dependencies: Dependencies = {},
  options: DiagnoseOptions = {},
): Promise<Finding[]> {
  let config;
  try {
    config = loadConfig(env);
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
  const findings: Finding[] = [];
  for (const resource of config.resources) {
    findings.push(await diagnoseResource(resource, parts, options));
  }
  return findings;
}

/** One resource, checked as `diagnose` checks each: the self-check's entry point. */
export async function diagnoseResource(
  resource: TokenResource,
  parts: Parts,
  options: DiagnoseOptions = {},
): Promise<Finding> {
  const failed = (cause: DoctorCause, detail: string, fix: string | null, extra: Partial<Finding> = {}): Finding => ({
    resource: resource.name,
    ok: false,
    cause,
    detail,
    fix,
    ...extra,
  });
  /** A failure the service itself would report, as a finding with its diagnosis and fix. */
  const failedWith = (failure: VendingError): Finding =>
    failed(failure.code, failure.diagnosis ?? failure.message, failure.fix ?? null);

  let key: string;
  try {
    key = (await parts.secrets.getSecret(resource.secretName)).value;
  } catch (error) {
    return failedWith(ensureVendingError(error));
  }

  try {
    refuseSubscriptionId(resource, key);
  } catch (error) {
    return failedWith(ensureVendingError(error));
  }
  if (keyShape(key) === 'malformed') {
    return failed(
      'key_malformed',
      `secret "${resource.secretName}" holds ${describeKey(key)}: neither 32 hex nor 84 alphanumeric characters.`,
      `Store the key alone, with no quotes, spaces or newline, in secret "${resource.secretName}".`,
    );
  }

  const url = resolveIssueTokenUrl(resource);
  let token: string;
  try {
    token = options.obtainToken
      ? await options.obtainToken(resource)
      : (await parts.sts.issueToken({ url, key, resource: resource.name }, PROBE)).token;
  } catch (error) {
    const failure = ensureVendingError(error);
    if (failure.code !== 'key_rejected') return failedWith(failure);
    return options.locate
      ? locateKey(resource, key, parts, options, failed)
      : failed(
          'key_rejected',
          `${url} rejected the key in secret "${resource.secretName}" (${describeKey(key)}).`,
          'Run `npm run doctor -- --locate` to find which region or cloud the key belongs to (it sends the key to the other regional endpoints of the same provider).',
        );
  }

  const voicesList = resolveClientEndpoints(resource).voicesList;
  if (resource.kind === 'speech' && voicesList !== undefined) {
    try {
      const response = await withTimeout(8000, async (signal) => {
        const answer = await parts.fetch(voicesList, { headers: { Authorization: `Bearer ${token}` }, signal });
        await answer.body?.cancel();
        return answer;
      });
      if (response.status === 401 || response.status === 403) {
        return failed(
          'token_rejected_by_service',
          `the STS issued a token, but the Speech service at ${new URL(voicesList).host} answered ${response.status} to it.`,
          'The token and the Speech host disagree: check the region (or custom subdomain) against the resource, and that the resource is a Speech or multi-service resource.',
        );
      }
      if (!response.ok) {
        return failed(
          'sts_unavailable',
          `the Speech voices list answered ${response.status}.`,
          'Retry; if it persists, check the Speech service status.',
        );
      }
    } catch (error) {
      return failed(
        'sts_unreachable',
        `the Speech service at ${new URL(voicesList).host} could not be reached: ${describeError(error)}`,
        'Check outbound connectivity to the Speech host (and private DNS for private endpoints).',
      );
    }
  }
  return {
    resource: resource.name,
    ok: true,
    cause: null,
    detail: `key accepted at ${new URL(url).host}${resource.kind === 'speech' ? '; the Speech service accepts the token' : ''}`,
    fix: null,
  };
}

async function locateKey(
  resource: TokenResource,
  key: string,
  parts: Parts,
  options: DiagnoseOptions,
  failed: (cause: DoctorCause, detail: string, fix: string | null, extra?: Partial<Finding>) => Finding,
): Promise<Finding> {
  const clouds = [resource.cloud, ...CLOUD_NAMES.filter((c) => c !== resource.cloud)];
  for (const cloud of clouds) {
    const candidates = regionsFor(resource.kind, cloud).filter(
      (region) => !(cloud === resource.cloud && region === resource.region),
    );
    const foundAt = await firstAccepting(candidates, options.locateConcurrency ?? 6, async (region) => {
      const url = resolveIssueTokenUrl({ ...resource, cloud, region, endpoint: null });
      try {
        await parts.sts.issueToken({ url, key, resource: resource.name }, LOCATE_PROBE);
        return true;
      } catch {
        return false;
      }
    });
    if (foundAt === undefined) continue;
    const where = resource.endpoint ?? `${resource.cloud} ${resource.region}`;
    if (cloud === resource.cloud) {
      return failed(
        'region_mismatch',
        `the key in secret "${resource.secretName}" is rejected at ${where} but accepted in ${cloud} region ${foundAt}.`,
        resource.endpoint !== null
          ? `The key belongs to a resource in ${foundAt}, not to ${resource.endpoint}: store the key of the custom-subdomain resource, or point "endpoint" at the resource the key belongs to.`
          : `Set "region": "${foundAt}" for "${resource.name}" in TOKEN_RESOURCES, or store the key of the ${resource.region} resource.`,
        { foundAt: { cloud, region: foundAt } },
      );
    }
    return failed(
      'cloud_mismatch',
      `the key in secret "${resource.secretName}" is rejected in ${resource.cloud} but accepted in ${cloud} region ${foundAt}.`,
      `Set "cloud": "${cloud}" and "region": "${foundAt}" for "${resource.name}" in TOKEN_RESOURCES, or store a key from ${resource.cloud}.`,
      { foundAt: { cloud, region: foundAt } },
    );
  }
  return failed(
    'key_rejected',
    `no regional endpoint in any cloud accepts the key in secret "${resource.secretName}" (${describeKey(key)}).`,
    "The key was regenerated, belongs to another kind of service, or is new and not yet propagated (wait up to 10 minutes). Copy a current key from the resource's Keys and Endpoint page.",
  );
}

/** The first candidate (in list order) for which `accepts` is true, trying `concurrency` at a time. */
async function firstAccepting(
  candidates: readonly string[],
  concurrency: number,
  accepts: (candidate: string) => Promise<boolean>,
): Promise<string | undefined> {
  for (let start = 0; start < candidates.length; start += concurrency) {
    const batch = candidates.slice(start, start + concurrency);
    const results = await Promise.all(batch.map(accepts));
    const index = results.indexOf(true);
    if (index !== -1) return batch[index];
  }
  return undefined;
}
