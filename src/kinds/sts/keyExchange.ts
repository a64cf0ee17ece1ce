import type { KeyInUse, MintedCredential } from '../../model.js';
import { VendingError } from '../../errors/serviceError.js';
import type { SecretSource, SecretValue } from '../../secrets/keyVaultSecretSource.js';
import { describeKey, keyShape } from '../../secrets/keyShape.js';
import { rotationStateOf } from '../../rotation/rotationState.js';
import type { RequestCorrelation } from '../../telemetry/telemetry.js';
import type { IssuedToken, StsClient, StsRetryPolicy } from '../../sts/stsClient.js';
import type { MintOptions } from '../kind.js';
import { readStsToken, STS_TOKEN_LIFETIME_MS } from '../../sts/stsToken.js';
import { resolveIssueTokenUrl } from './stsEndpoints.js';
import type { StsResource } from './stsResource.js';

export interface KeyExchangeDependencies {
  readonly secrets: SecretSource;
  readonly sts: StsClient;
}

function keyInUse(secret: SecretValue): KeyInUse {
  const { since } = rotationStateOf(secret);
  return { keyName: secret.tags.keyName ?? null, createdOn: secret.createdOn, since };
}

function credentialOf(issued: IssuedToken, secret: SecretValue): MintedCredential {
  return { token: issued.token, issuedAt: issued.issuedAt, expiresAt: expiryOf(issued), key: keyInUse(secret) };
}

/**
 * When a vended STS token stops being handed out, epoch ms: its own `exp`, but never more than 10
 * minutes after it was issued (the STS's promise), whatever the token says. A token without a
 * readable `exp` (the classifier refuses those) gets the 10 minutes.
 */
export function expiryOf({ token, issuedAt }: IssuedToken): number {
  const latest = issuedAt + STS_TOKEN_LIFETIME_MS;
  const read = readStsToken(token);
  return read.ok ? Math.min(read.expiresAt, latest) : latest;
}

/**
 * Reads the resource's key and exchanges it at the resource's own STS. When the STS rejects the
 * key, the secret is read again once: a rotated key is picked up without a restart.
 */
export function createKeyExchange({ secrets, sts }: KeyExchangeDependencies) {
  return async function exchange(
    resource: StsResource,
    correlation?: RequestCorrelation,
    options: MintOptions = {},
  ): Promise<MintedCredential> {
    const url = resolveIssueTokenUrl(resource);
    const policy: StsRetryPolicy = options.oneAttempt === true ? { maxAttempts: 1 } : {};
    let secret = await secrets.getSecret(resource.secretName, { correlation });
    if (keyShape(secret.value) === 'subscription_id')
      secret = await secrets.getSecret(resource.secretName, { refresh: true, correlation });
    const key = secret.value;
    refuseSubscriptionId(resource, key);
    refuseUnsendableKey(resource, key);
    try {
      return credentialOf(await sts.issueToken({ url, key, resource: resource.name, correlation }, policy), secret);
    } catch (error) {
      if (!(error instanceof VendingError) || error.code !== 'key_rejected') throw error;
      const reread = await secrets.getSecret(resource.secretName, { refresh: true, correlation });
      const current = reread.value;
      if (current === key) throw explainRejectedKey(resource, key, error);
      refuseSubscriptionId(resource, current);
      refuseUnsendableKey(resource, current);
      try {
        return credentialOf(
          await sts.issueToken({ url, key: current, resource: resource.name, correlation }, policy),
          reread,
        );
      } catch (retryError) {
        if (retryError instanceof VendingError && retryError.code === 'key_rejected')
          throw explainRejectedKey(resource, current, retryError);
        throw retryError;
      }
    }
  };
}

/**
 * A GUID is an Azure subscription ID pasted where the key belongs; it is never sent to the STS.
 * The doctor reports the same cause with the same diagnosis and fix.
 */
export function refuseSubscriptionId(resource: StsResource, key: string): void {
  if (keyShape(key) !== 'subscription_id') return;
  throw new VendingError(
    'key_looks_like_subscription_id',
    'The configured key is an Azure subscription ID, not a resource key.',
    {
      detail: 'The key configured for this resource is not a resource key. The operator has been told.',
      diagnosis: `secret "${resource.secretName}" for "${resource.name}" holds a GUID (${describeKey(key)}): that is an Azure subscription ID, not a key; it was not sent to the STS`,
      fix: `Copy KEY 1 from the resource's Keys and Endpoint page (32 hex or 84 alphanumeric characters) into secret "${resource.secretName}".`,
    },
  );
}

/**
 * A key that cannot be a header value (a line break inside, two keys pasted on two lines, a
 * control or non-ASCII character) is never sent: fetch would refuse it with an error quoting the
 * whole value, key included. Whitespace around the key is harmless: HTTP trims it.
 */
export function refuseUnsendableKey(resource: StsResource, key: string): void {
  if (!/[^\t\x20-\x7e]/.test(key.trim())) return;
  throw new VendingError('key_malformed', 'The configured key is not shaped like a resource key.', {
    detail: 'The key configured for this resource is not a resource key. The operator has been told.',
    diagnosis: `secret "${resource.secretName}" for "${resource.name}" holds ${describeKey(key.trim())} with a line break, control or non-ASCII character inside; it was not sent to the STS`,
    fix: `Copy KEY 1 from the resource's Keys and Endpoint page into secret "${resource.secretName}" alone, on one line.`,
  });
}

function explainRejectedKey(resource: StsResource, key: string, rejected: VendingError): VendingError {
  if (keyShape(key) !== 'malformed') {
    return new VendingError('key_rejected', rejected.message, {
      detail: rejected.detail,
      diagnosis: `${rejected.diagnosis ?? ''}; secret "${resource.secretName}" (${describeKey(key)}) was read again and is unchanged`,
      ...(rejected.fix === undefined ? {} : { fix: rejected.fix }),
      cause: rejected,
    });
  }
  return new VendingError('key_malformed', 'The configured key is not shaped like a resource key.', {
    detail: 'The key configured for this resource is not a resource key. The operator has been told.',
    diagnosis: `secret "${resource.secretName}" for "${resource.name}" holds ${describeKey(key)}, neither 32 hex nor 84 alphanumeric characters, and the STS rejected it`,
    fix: `Copy KEY 1 from the resource's Keys and Endpoint page into secret "${resource.secretName}" with nothing around it (no quotes, spaces or newline).`,
    cause: rejected,
  });
}
