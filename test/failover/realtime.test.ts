import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENTS } from '../../src/telemetry/names.js';
import {
  expectNoKeys,
  OPENAI_ACCOUNTS,
  REALTIME_RESOURCES,
  RESOURCES,
  startHarness,
  type Harness,
} from '../support/harness.js';

// Issue 21, item 5, with the real `openai-realtime` kind at the Azure OpenAI fake: the eastus2
// deployment at capacity (429) and swedencentral serving the same callers, keys never shared.

const PRIMARY = `https://${OPENAI_ACCOUNTS.keyless}.openai.azure.com`;
const FALLBACK = `https://${OPENAI_ACCOUNTS.keyed}.services.ai.azure.com`;

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ dependencies: { failoverBackoff: { firstMs: 4000 } } });
  const assistant = { ...REALTIME_RESOURCES[0], failover: [{ region: 'swedencentral', endpoint: FALLBACK }] };
  h.rebuild({ TOKEN_RESOURCES: JSON.stringify([...RESOURCES, assistant]) });
});
afterEach(async () => {
  await h.close();
  expectNoKeys(h.logText());
  for (const mint of h.openai.mints) if (mint.value !== undefined) expect(h.logText()).not.toContain(mint.value);
});

interface RealtimeAnswer {
  readonly accessToken: string;
  readonly region: string;
  readonly resource: string;
  readonly endpoints: { readonly webrtc: string };
  readonly session: { readonly model: string };
}

async function talk(oid: string): Promise<RealtimeAnswer> {
  const answer = await h.call('GET', '/api/token/assistant', {
    authorization: `Bearer ${await h.callerToken({ oid, roles: ['Assistant.Talk'], scp: undefined })}`,
  });
  expect(answer.status, answer.body).toBe(200);
  return answer.json as RealtimeAnswer;
}

/** The account whose mint handed out `key`. */
const mintedAt = (key: string) => h.openai.mints.find((m) => m.value === key)?.account;

describe('openai-realtime failover at the wire', () => {
  it('eastus2 at capacity: swedencentral mints within the same request, each caller its own key, its own WebRTC URL', async () => {
    h.openai.failMints(100, { status: 429, retryAfterSeconds: 2 }, OPENAI_ACCOUNTS.keyless);
    const [a, b] = await Promise.all([talk('a'), talk('b')]);
    for (const answer of [a, b]) {
      expect(answer).toMatchObject({
        resource: 'assistant',
        region: 'swedencentral',
        endpoints: { webrtc: `${FALLBACK}/openai/v1/realtime/calls?webrtcfilter=on` },
        session: { model: 'gpt-realtime' },
      });
      // The key works where it is sent: the account behind the WebRTC URL minted it.
      expect(mintedAt(answer.accessToken)).toBe(OPENAI_ACCOUNTS.keyed);
    }
    expect(a.accessToken).not.toBe(b.accessToken);
    // One attempt at the primary per request (no retry while a fallback can serve).
    expect(h.openai.mints.filter((m) => m.account === OPENAI_ACCOUNTS.keyless).length).toBeLessThanOrEqual(2);
    expect(h.events(EVENTS.failoverServingChanged)).toMatchObject([
      { resource: 'assistant', member: 'assistant.failover[0]', previous: 'assistant', code: 'openai_throttled' },
    ]);
  });

  it('back to eastus2 once a background probe mints there', async () => {
    h.openai.failMints(1, { status: 429, retryAfterSeconds: 2 }, OPENAI_ACCOUNTS.keyless);
    expect((await talk('a')).region).toBe('swedencentral');
    h.clock.now += 4000;
    expect((await talk('b')).region).toBe('swedencentral');
    await vi.waitFor(() => expect(h.events(EVENTS.failoverMemberRecovered)).toHaveLength(1));
    const back = await talk('c');
    expect(back.region).toBe('eastus2');
    expect(back.endpoints.webrtc).toBe(`${PRIMARY}/openai/v1/realtime/calls?webrtcfilter=on`);
    expect(mintedAt(back.accessToken)).toBe(OPENAI_ACCOUNTS.keyless);
  });

  it("both regions at capacity: the primary's code and Retry-After, promptly", async () => {
    h.openai.failMints(100, { status: 429, retryAfterSeconds: 7 });
    const refused = await h.call('GET', '/api/token/assistant', {
      authorization: `Bearer ${await h.callerToken({ roles: ['Assistant.Talk'], scp: undefined })}`,
    });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'openai_throttled', retryAfterSeconds: 7 });
    expect(h.openai.mints).toHaveLength(2);
  });
});
