import { resolveClientEndpoints, resolveIssueTokenUrl } from '../clouds/endpoints.js';
import { regionsFor } from '../clouds/regions.js';
import { composeParts, type Dependencies, type Parts } from '../composition.js';
import { ConfigurationError, formatProblem, loadConfig, type Environment } from '../config/settings.js';
import { describeError, ensureVendingError, type ErrorCode, type VendingError } from '../errors.js';
import { CLOUD_NAMES, type CloudName, type TokenResource } from '../model.js';
import type { RotationCode } from '../rotation/rotationError.js';
import type { SecretValue } from '../secrets/keyVaultSecretSource.js';
import { describeKey, keyShape } from '../secrets/keyShape.js';
import { refuseSubscriptionId } from '../sts/keyExchange.js';
import type { StsRetryPolicy } from '../sts/stsClient.js';
import { withTimeout } from '../timeout.js';
import { checkRotation, type RotationFacts } from './rotationFacts.js';

/** One probe per resource: a failing exchange is reported, not retried at length. */
const PROBE: StsRetryPolicy = { maxAttempts: 2, budgetMs: 8000 };
/** One call to the Speech voices list with the fresh token, in ms. */
const SPEECH_PROBE_MS = 8000;
/** --locate sends the key to many hosts; each gets one short attempt. */
const LOCATE_PROBE: StsRetryPolicy = { maxAttempts: 1, attemptTimeoutMs: 4000, budgetMs: 4000 };

/**
 * Codes the doctor reports beyond the service's own: where a rejected key belongs, the Speech
 * check, and why a rotation would fail (`rotation_permission_missing`, …).
 */
export type DoctorCause =
  | ErrorCode
  | RotationCode
  | 'region_mismatch'
  | 'cloud_mismatch'
  | 'token_rejected_by_service'
  | 'speech_endpoint_not_found';

export interface Finding {
  readonly resource: string;
  readonly ok: boolean;
  readonly cause: DoctorCause | null;
  readonly detail: string;
  readonly fix: string | null;
  /** With --locate: where the key was accepted instead. */
  readonly foundAt?: { readonly cloud: CloudName; readonly region: string };
  /** What works but should be fixed: a key stored with whitespace, an expired secret version. */
  readonly warnings?: readonly string[];
  /** For a resource with a `resourceId`: the key in use, its age, the next rotation. */
  readonly rotation?: RotationFacts;
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
  const findings: Finding[] = [await diagnoseCallers(parts)];
  for (const resource of config.resources) {
    findings.push(await diagnoseResource(resource, parts, options));
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

/** One resource, checked as `diagnose` checks each: the self-check's entry point. */
export async function diagnoseResource(
  resource: TokenResource,
  parts: Parts,
  options: DiagnoseOptions = {},
): Promise<Finding> {
  const warnings: string[] = [];
  const failed = (cause: DoctorCause, detail: string, fix: string | null, extra: Partial<Finding> = {}): Finding => ({
    resource: resource.name,
    ok: false,
    cause,
    detail,
    fix,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...extra,
  });
  /** A failure the service itself would report, as a finding with its diagnosis and fix. */
  const failedWith = (failure: VendingError): Finding =>
    failed(failure.code, failure.diagnosis ?? failure.message, failure.fix ?? null);

  let secret: SecretValue;
  try {
    secret = await parts.secrets.getSecret(resource.secretName);
  } catch (error) {
    return failedWith(ensureVendingError(error));
  }
  const key = secret.value;
  warnings.push(...secretWarnings(resource.secretName, secret, parts.now()));

  try {
    refuseSubscriptionId(resource, key);
  } catch (error) {
    return failedWith(ensureVendingError(error));
  }
  if (keyShape(key) === 'malformed') {
    return failed(
      'key_malformed',
      `secret "${resource.secretName}" holds ${describeKey(key)}: neither 32 hex nor 84 alphanumeric characters.`,
      `Store the key alone, with no quotes or spaces inside, in secret "${resource.secretName}".`,
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
  if (voicesList !== undefined) {
    const refused = await checkSpeechToken(resource, voicesList, token, parts);
    if (refused !== undefined) return failed(refused.cause, refused.detail, refused.fix);
  }
  const rotation = resource.resourceId === null ? undefined : await checkRotation(resource, parts, secret);
  if (rotation?.ok === false) return failed(rotation.failure.code, rotation.failure.diagnosis, rotation.failure.fix);
  return {
    resource: resource.name,
    ok: true,
    cause: null,
    detail: `key accepted at ${new URL(url).host}${voicesList === undefined ? '' : `; the Speech voices list at ${new URL(voicesList).host} accepts the token`}${rotation === undefined ? '' : `; ${rotation.summary}`}`,
    fix: null,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(rotation === undefined ? {} : { rotation: rotation.facts }),
  };
}

/** What an operator should know about a secret that still works. */
function secretWarnings(secretName: string, secret: SecretValue, now: number): string[] {
  const warnings: string[] = [];
  if (secret.trimmed !== undefined) {
    warnings.push(
      `secret "${secretName}" has ${secret.trimmed} around the key; the service removes it, but store the key alone.`,
    );
  }
  if (secret.expiresOn !== undefined && secret.expiresOn <= now) {
    warnings.push(
      `secret "${secretName}" expired on ${new Date(secret.expiresOn).toISOString()}; Key Vault still serves it, so the key is used. Add a current version or extend the expiry.`,
    );
  }
  if (secret.notBefore !== undefined && secret.notBefore > now) {
    warnings.push(
      `secret "${secretName}" is not active before ${new Date(secret.notBefore).toISOString()}; Key Vault serves it already, so the key is used.`,
    );
  }
  return warnings;
}

/**
 * Uses the fresh token once, at the Speech voices list the answer points callers to, and names what
 * goes wrong there: a token the host refuses, a host that has no Speech paths (a custom subdomain
 * without a private endpoint serves only the STS), an outage, or no answer.
 */
async function checkSpeechToken(
  resource: TokenResource,
  voicesList: string,
  token: string,
  parts: Parts,
): Promise<{ cause: DoctorCause; detail: string; fix: string } | undefined> {
  const host = new URL(voicesList).host;
  let status: number;
  try {
    status = await withTimeout(SPEECH_PROBE_MS, async (signal) => {
      const answer = await parts.fetch(voicesList, { headers: { Authorization: `Bearer ${token}` }, signal });
      await answer.body?.cancel();
      return answer.status;
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      cause: timedOut ? 'sts_timeout' : 'sts_unreachable',
      detail: `the Speech service at ${host} ${timedOut ? `did not answer within ${SPEECH_PROBE_MS} ms` : `could not be reached: ${describeError(error)}`}`,
      fix: 'Check outbound connectivity to the Speech host (and private DNS for private endpoints).',
    };
  }
  if (status === 401 || status === 403) {
    return {
      cause: 'token_rejected_by_service',
      detail: `the STS issued a token, but the Speech service at ${host} answered ${status} to it.`,
      fix: 'The token and the Speech host disagree: check the region (or custom subdomain) against the resource, that the resource is a Speech or multi-service resource, and, for a custom subdomain, that its Networking allows all networks (tokens work at the Speech REST hosts only then).',
    };
  }
  if (status === 404) {
    return {
      cause: 'speech_endpoint_not_found',
      detail: `the Speech voices list at ${voicesList} answered 404: that host has no Speech REST paths.`,
      fix:
        resource.endpoint !== null && resource.privateEndpoint
          ? `Without a private endpoint a custom subdomain serves only the STS and the Speech SDK; the Speech REST APIs stay at the regional hosts. If "${resource.name}" has no private endpoint, set "privateEndpoint": false and its "region" in TOKEN_RESOURCES.`
          : `Check "region" for "${resource.name}" in TOKEN_RESOURCES, and that the resource is a Speech or multi-service resource.`,
    };
  }
  if (status >= 500) {
    return {
      cause: 'sts_unavailable',
      detail: `the Speech voices list at ${host} answered ${status}.`,
      fix: 'An Azure AI services outage; retry, and check the Speech service status if it persists.',
    };
  }
  return status >= 200 && status < 300
    ? undefined
    : {
        cause: 'token_rejected_by_service',
        detail: `the Speech voices list at ${host} answered ${status}.`,
        fix: 'Check the region (or custom subdomain) against the resource.',
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
