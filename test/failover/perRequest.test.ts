import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VendingError } from '../../src/errors/serviceError.js';
import type { CredentialKind } from '../../src/kinds/kind.js';
import { BUILT_IN_KINDS } from '../../src/kinds/registry.js';
import type { TokenResource } from '../../src/model.js';
import { EVENTS } from '../../src/telemetry/names.js';
import { RESOURCES, startHarness, type Harness } from '../support/harness.js';

// Failover of a kind whose credential is minted per request and never shared (as GPT Realtime's
// one-minute keys are): a kind registered in this test alone, whose upstream answers 429 while a
// region is at capacity. The flow knows nothing of it beyond `sharedBetweenCallers: false`.

interface VoiceResource extends TokenResource {
  readonly kind: 'voice';
  readonly deployment: string;
}

interface Mint {
  readonly region: string | null;
  readonly deployment: string;
  readonly oneAttempt: boolean;
}

function voiceKind(mints: Mint[], atCapacity: Set<string>): CredentialKind<VoiceResource> {
  return {
    names: ['voice'],
    aliases: {},
    fields: ['region', 'endpoint', 'deployment'],
    sharedBetweenCallers: false,
    upstream: 'voice',
    parseResource(common, raw, checks) {
      const region = typeof raw.region === 'string' ? raw.region : '';
      const endpoint = typeof raw.endpoint === 'string' ? raw.endpoint : '';
      const deployment = typeof raw.deployment === 'string' ? raw.deployment : '';
      if (!region || !endpoint || !deployment) {
        checks.fail('"region", "endpoint" and "deployment" are required');
        return undefined;
      }
      return { ...common, kind: 'voice', region, endpoint, privateEndpoint: false, secretName: '', deployment };
    },
    clientView: (resource) => ({
      region: resource.region,
      endpoints: { webrtc: `${resource.endpoint ?? ''}/calls?deployment=${resource.deployment}` },
      headers: {},
    }),
    classifyAnswer: () => ({ kind: 'credential', value: 'unused' }),
    bind(steps) {
      return {
        mint(resource, _correlation, options) {
          mints.push({
            region: resource.region,
            deployment: resource.deployment,
            oneAttempt: options?.oneAttempt === true,
          });
          if (atCapacity.has(resource.region ?? '')) {
            return Promise.reject(
              new VendingError('sts_throttled', 'The deployment is at capacity.', {
                diagnosis: `${resource.name}: 429 from ${resource.endpoint ?? ''}`,
                retryAfterSeconds: 2,
              }),
            );
          }
          const issuedAt = steps.now();
          return Promise.resolve({
            token: `ek_${resource.region ?? ''}_${mints.length}`,
            issuedAt,
            expiresAt: issuedAt + 60_000,
          });
        },
        probe: (resource) =>
          Promise.resolve({ resource: resource.name, ok: true, cause: null, detail: 'fine', fix: null }),
      };
    },
  };
}

const ASSISTANT = {
  name: 'assistant',
  kind: 'voice',
  region: 'eastus2',
  endpoint: 'https://contoso-east.openai.azure.com',
  deployment: 'gpt-realtime',
  allowedRoles: ['Assistant.Talk'],
  failover: [{ region: 'swedencentral', endpoint: 'https://contoso-sweden.openai.azure.com' }],
};

let h: Harness;
let mints: Mint[];
let atCapacity: Set<string>;
beforeEach(async () => {
  mints = [];
  atCapacity = new Set();
  h = await startHarness({
    dependencies: { kinds: [...BUILT_IN_KINDS, voiceKind(mints, atCapacity)], failoverBackoff: { firstMs: 4000 } },
  });
  h.rebuild({ TOKEN_RESOURCES: JSON.stringify([...RESOURCES, ASSISTANT]) });
});
afterEach(async () => {
  await h.close();
});

async function talk(oid: string) {
  const answer = await h.call('GET', '/api/token/assistant', {
    authorization: `Bearer ${await h.callerToken({ oid, roles: ['Assistant.Talk'] })}`,
  });
  expect(answer.status, answer.body).toBe(200);
  return answer.json as { accessToken: string; region: string; resource: string; endpoints: { webrtc: string } };
}

describe('failover of a kind minted per request, never shared', () => {
  it('a deployment at capacity (429) in eastus2: swedencentral answers, with its own endpoint, and the primary is left alone', async () => {
    atCapacity.add('eastus2');
    const first = await talk('a');
    expect(first).toMatchObject({
      resource: 'assistant',
      region: 'swedencentral',
      endpoints: { webrtc: 'https://contoso-sweden.openai.azure.com/calls?deployment=gpt-realtime' },
    });
    const second = await talk('b');
    expect(second.region).toBe('swedencentral');
    // Never shared: each caller its own credential, and the inherited deployment at each member.
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(mints).toEqual([
      { region: 'eastus2', deployment: 'gpt-realtime', oneAttempt: true },
      { region: 'swedencentral', deployment: 'gpt-realtime', oneAttempt: false },
      { region: 'swedencentral', deployment: 'gpt-realtime', oneAttempt: false },
    ]);
    expect(h.events(EVENTS.failoverServingChanged)).toMatchObject([
      { resource: 'assistant', member: 'assistant.failover[0]', previous: 'assistant', code: 'sts_throttled' },
    ]);
  });

  it("back to eastus2 after a background probe mints there (the probe's credential goes to nobody)", async () => {
    atCapacity.add('eastus2');
    await talk('a');
    atCapacity.delete('eastus2');
    // The 429 asked for 2 s; the backoff's first wait (2-4 s) is longer.
    h.clock.now += 4000;
    expect((await talk('b')).region).toBe('swedencentral');
    await vi.waitFor(() => expect(h.events(EVENTS.failoverMemberRecovered)).toHaveLength(1));
    const back = await talk('c');
    expect(back.region).toBe('eastus2');
    expect(back.endpoints.webrtc).toBe('https://contoso-east.openai.azure.com/calls?deployment=gpt-realtime');
    // eastus2: the refusal, the probe, the last answer; swedencentral: the two answers before.
    expect(mints.filter((m) => m.region === 'eastus2')).toHaveLength(3);
    expect(mints.filter((m) => m.region === 'swedencentral')).toHaveLength(2);
  });

  it('concurrent callers during the switch: each mints once at each member it tries, no more', async () => {
    atCapacity.add('eastus2');
    const answers = await Promise.all(['a', 'b', 'c'].map((oid) => talk(oid)));
    expect(new Set(answers.map((a) => a.accessToken)).size).toBe(3);
    const east = mints.filter((m) => m.region === 'eastus2').length;
    expect(east).toBeLessThanOrEqual(3);
    expect(mints.filter((m) => m.region === 'swedencentral')).toHaveLength(3);
    expect(h.events(EVENTS.failoverServingChanged)).toHaveLength(1);
    expect(h.events(EVENTS.failoverMemberFailed)).toHaveLength(1);
  });

  it("both regions at capacity: the primary's code, with its Retry-After", async () => {
    atCapacity.add('eastus2');
    atCapacity.add('swedencentral');
    const refused = await h.call('GET', '/api/token/assistant', {
      authorization: `Bearer ${await h.callerToken({ roles: ['Assistant.Talk'] })}`,
    });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'sts_throttled', retryAfterSeconds: 2 });
  });
});
