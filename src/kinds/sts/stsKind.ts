import { classifyStsAnswer } from '../../sts/stsAnswer.js';
import { StsClient } from '../../sts/stsClient.js';
import type { CredentialKind } from '../kind.js';
import { createKeyExchange } from './keyExchange.js';
import { stsClientView } from './stsEndpoints.js';
import { stsAcceptsKey } from './stsKeyCheck.js';
import { probeStsResource } from './stsProbe.js';
import { parseStsResource, STS_KIND_NAMES, stsFieldsSchema, type StsResource } from './stsResource.js';
import { STS_KIND_ALIASES, STS_REFUSED_NAMES } from './stsKindNames.js';

/**
 * Speech, Translator and multi-service resources: the resource key (Key Vault) is exchanged at the
 * resource's own STS (`POST {sts}/sts/v1.0/issueToken`, header `Ocp-Apim-Subscription-Key`) for a
 * 10-minute bearer token, which every authorized caller of the resource shares through the token
 * cache. Source: Azure AI services authentication reference, "Authenticate with an access token".
 */
export const stsKind: CredentialKind<StsResource> = {
  names: STS_KIND_NAMES,
  aliases: STS_KIND_ALIASES,
  refusedNames: STS_REFUSED_NAMES,
  fields: Object.keys(stsFieldsSchema.shape),
  sharedBetweenCallers: true,
  upstream: 'sts',
  parseResource(common, raw, checks) {
    const kind = STS_KIND_NAMES.find((name) => name === common.kind);
    return kind === undefined ? undefined : parseStsResource({ ...common, kind }, raw, checks);
  },
  clientView: stsClientView,
  classifyAnswer: classifyStsAnswer,
  bind(steps) {
    const sts = new StsClient({
      now: steps.now,
      fetch: steps.fetch,
      telemetry: steps.telemetry,
      ...(steps.random === undefined ? {} : { random: steps.random }),
      ...(steps.sleep === undefined ? {} : { sleep: steps.sleep }),
      ...(steps.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: steps.attemptTimeoutMs }),
    });
    const exchange = createKeyExchange({ secrets: steps.secrets, sts });
    return {
      mint: exchange,
      probe: (resource, options) => probeStsResource(resource, { steps, sts }, options),
      checkKey: (resource, key) => stsAcceptsKey(sts, resource, key),
    };
  },
};
