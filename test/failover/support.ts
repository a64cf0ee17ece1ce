import { expect } from 'vitest';
import type { Dependencies } from '../../src/composition.js';
import { FAKE_KEYS, RESOURCES, startHarness, type Harness } from '../support/harness.js';

/** The key of the fallback Speech resource in japaneast: shaped like a real one. */
export const EAST_KEY = 'b7c8d9e0f1a2b3c4d5e6f708192a3b4c';

export const WEST_STS = 'japanwest.api.cognitive.microsoft.com';
export const EAST_STS = 'japaneast.api.cognitive.microsoft.com';

/** `speech` of the harness (japanwest) with one fallback in japaneast, its own secret. */
export const SPEECH_WITH_FAILOVER = {
  ...RESOURCES[0],
  failover: [{ region: 'japaneast', secretName: 'speech-east-key' }],
};

/**
 * The harness with `speech` failing over to japaneast: the STS fake knows the east key there, the
 * vault holds it. Probes back off from 1 s (jitter 0.5 puts the first one 0.75 s after a failure).
 */
export async function startFailoverHarness(dependencies: Dependencies = {}): Promise<Harness> {
  const h = await startHarness({ dependencies: { failoverBackoff: { firstMs: 1000, maxMs: 8000 }, ...dependencies } });
  h.cognitive.setKeys([...FAKE_KEYS, { key: EAST_KEY, cloud: 'AzureCloud', region: 'japaneast' }]);
  h.vault.setSecret('speech-east-key', EAST_KEY);
  h.rebuild({ TOKEN_RESOURCES: JSON.stringify([SPEECH_WITH_FAILOVER, ...RESOURCES.slice(1)]) });
  return h;
}

export interface TokenAnswer {
  readonly accessToken: string;
  readonly region: string | null;
  readonly resource: string;
  readonly endpoints: Readonly<Record<string, string>>;
}

/** A token request for `speech`; fails the test on anything but 200. */
export async function speechToken(h: Harness, caller?: string): Promise<TokenAnswer> {
  const answer = await h.call('GET', '/api/token/speech', {
    authorization: `Bearer ${caller ?? (await h.callerToken())}`,
  });
  expect(answer.status, answer.body).toBe(200);
  return answer.json as TokenAnswer;
}

/** What the Speech service says to the answer's token at the answer's own voices list: 200 when they belong together. */
export async function voicesListStatus(h: Harness, answer: TokenAnswer): Promise<number> {
  const url = answer.endpoints.voicesList;
  if (url === undefined) throw new Error('no voicesList endpoint');
  const response = await h.cognitive.fetch(url, { headers: { authorization: `Bearer ${answer.accessToken}` } });
  await response.arrayBuffer();
  return response.status;
}

/** The STS calls the fake saw at a host. */
export const stsCalls = (h: Harness, host: string) => h.cognitive.stsCalls(host);

/** Ends a scripted outage of a host: the script's remaining answers drop to none. */
export function endOutage(h: Harness, host: string): void {
  h.cognitive.script(host, { status: 503, times: 0 });
}
