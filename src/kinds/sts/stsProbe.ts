import { CLOUD_NAMES } from '../../model.js';
import { describeError, ensureVendingError, type VendingError } from '../../errors/serviceError.js';
import { checkRotation } from '../../rotation/rotationFacts.js';
import type { SecretValue } from '../../secrets/keyVaultSecretSource.js';
import { describeKey, keyShape } from '../../secrets/keyShape.js';
import type { StsClient, StsRetryPolicy } from '../../sts/stsClient.js';
import { untrustedCertificate } from '../../http/tlsTrust.js';
import { withTimeout } from '../../timeout.js';
import type { DoctorCause, Finding, ProbeOptions } from '../finding.js';
import type { KindSteps } from '../kind.js';
import { refuseSubscriptionId } from './keyExchange.js';
import { regionsFor } from './regions.js';
import { resolveClientEndpoints, resolveIssueTokenUrl } from './stsEndpoints.js';
import type { StsResource } from './stsResource.js';

/** One probe per resource: a failing exchange is reported, not retried at length. */
const PROBE: StsRetryPolicy = { maxAttempts: 2, budgetMs: 8000 };
/** One call to the Speech voices list with the fresh token, in ms. */
const SPEECH_PROBE_MS = 8000;
/** --locate sends the key to many hosts; each gets one short attempt. */
const LOCATE_PROBE: StsRetryPolicy = { maxAttempts: 1, attemptTimeoutMs: 4000, budgetMs: 4000 };

/** What an STS kind's probe uses: the instance's steps and the kind's STS client. */
interface ProbeContext {
  readonly steps: KindSteps;
  readonly sts: StsClient;
}

/**
 * The doctor's check of an STS-kind resource, in the order a token request depends on them,
 * stopping at the first failure: Key Vault, the key's shape, the exchange, for Speech a call with
 * the fresh token, and for a rotated resource the rotation's facts (and, when asked, its
 * permissions: the only writes a probe makes). Never reports a key: at most its length and last
 * four characters.
 */
export async function probeStsResource(
  resource: StsResource,
  context: ProbeContext,
  options: ProbeOptions = {},
): Promise<Finding> {
  const { steps } = context;
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
    secret = await steps.secrets.getSecret(resource.secretName);
  } catch (error) {
    return failedWith(ensureVendingError(error));
  }
  const key = secret.value;
  warnings.push(...secretWarnings(resource.secretName, secret, steps.now()));

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
      : (await context.sts.issueToken({ url, key, resource: resource.name }, PROBE)).token;
  } catch (error) {
    const failure = ensureVendingError(error);
    if (failure.code !== 'key_rejected') return failedWith(failure);
    return options.locate
      ? locateKey(resource, key, context.sts, options, failed)
      : failed(
          'key_rejected',
          `${url} rejected the key in secret "${resource.secretName}" (${describeKey(key)}).`,
          `Run \`npm run doctor -- --locate\` to find which region the key belongs to: it sends the key to the other regional endpoints of ${resource.cloud} only; add --all-clouds to try the other clouds too (Azure China is run by another operator, 21Vianet).`,
        );
  }

  const voicesList = resolveClientEndpoints(resource).voicesList;
  if (voicesList !== undefined) {
    const refused = await checkSpeechToken(resource, voicesList, token, steps.fetch);
    if (refused !== undefined) return failed(refused.cause, refused.detail, refused.fix);
  }
  const rotation =
    resource.resourceId === null
      ? undefined
      : await checkRotation(
          resource,
          { ...steps.rotationFacts, checkPermissions: options.checkRotationPermissions === true },
          secret,
        );
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
  resource: StsResource,
  voicesList: string,
  token: string,
  fetch: typeof globalThis.fetch,
): Promise<{ cause: DoctorCause; detail: string; fix: string } | undefined> {
  const host = new URL(voicesList).host;
  let status: number;
  try {
    status = await withTimeout(SPEECH_PROBE_MS, async (signal) => {
      const answer = await fetch(voicesList, { headers: { Authorization: `Bearer ${token}` }, signal });
      await answer.body?.cancel();
      return answer.status;
    });
  } catch (error) {
    const untrusted = untrustedCertificate(error, 'the Speech service', host);
    if (untrusted !== undefined) {
      return { cause: 'tls_untrusted', detail: untrusted.diagnosis ?? untrusted.message, fix: untrusted.fix ?? '' };
    }
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
  resource: StsResource,
  key: string,
  sts: StsClient,
  options: ProbeOptions,
  failed: (cause: DoctorCause, detail: string, fix: string | null, extra?: Partial<Finding>) => Finding,
): Promise<Finding> {
  // The resource's own cloud, unless the operator asked for the others: a key is sent to another
  // cloud (another operator, for Azure China) only on purpose.
  const others = CLOUD_NAMES.filter((c) => c !== resource.cloud);
  const clouds = options.locateAllClouds === true ? [resource.cloud, ...others] : [resource.cloud];
  for (const cloud of clouds) {
    const candidates = regionsFor(resource.kind, cloud).filter(
      (region) => !(cloud === resource.cloud && region === resource.region),
    );
    const foundAt = await firstAccepting(candidates, options.locateConcurrency ?? 6, async (region) => {
      const url = resolveIssueTokenUrl({ ...resource, cloud, region, endpoint: null });
      try {
        await sts.issueToken({ url, key, resource: resource.name }, LOCATE_PROBE);
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
  if (options.locateAllClouds !== true) {
    return failed(
      'key_rejected',
      `no regional endpoint of ${resource.cloud} accepts the key in secret "${resource.secretName}" (${describeKey(key)}); the other clouds (${others.join(', ')}) were not tried.`,
      `The key was regenerated, belongs to another kind of service, or is new and not yet propagated (wait up to 10 minutes): copy a current key from the resource's Keys and Endpoint page. If it may come from another cloud, \`npm run doctor -- --locate --all-clouds\` sends it to ${others.join(' and ')} too (Azure China is run by another operator, 21Vianet).`,
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
