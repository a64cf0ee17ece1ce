import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLocalHost, type BundleExports } from '../devstack/host/localHost.js';
import { startFakeCognitive } from '../devstack/fakes/cognitive.js';
import { startFakeEntra } from '../devstack/fakes/entra.js';
import { fakeKeyVaultCredential, startFakeKeyVault } from '../devstack/fakes/keyVault.js';
import { repositoryRoot } from '../devstack/repository.js';
import { combined, load, median, type LoadResult } from './load.js';

// `npm run bench:failover`: a primary STS outage under load, for a resource with one fallback in
// another region. The service runs in this process with the fakes (Entra, Key Vault, STS, each
// answering after LATENCY ms) on one clock that the bench moves forward, so "the outage has lasted
// until the cached token ran out" takes no real ten minutes. Measured: the time of the first
// request that fails over (beside a normal refresh), the requests of the switch under load (none
// may fail), and requests per second before and during the outage. Bounded: fixed request counts.
const LATENCY_MS = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 20);
const TOTAL = Number(process.env.BENCH_REQUESTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SINGLES = Number(process.env.BENCH_SINGLES ?? 7);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const PER_ROUND = Math.ceil(TOTAL / ROUNDS);

const TENANT = '5a0c1b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
const AUDIENCE = 'api://token-vending-bench';
const WEST_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EAST_KEY = 'b7c8d9e0f1a2b3c4d5e6f708192a3b4c';
const WEST_STS = 'japanwest.api.cognitive.microsoft.com';
const TEN_MINUTES = 10 * 60_000;

let offset = 0;
const now = () => Date.now() + offset;

const entra = await startFakeEntra({ tenantId: TENANT, now });
const vault = await startFakeKeyVault({ now, latencyMs: LATENCY_MS });
const cognitive = await startFakeCognitive({
  keys: [
    { key: WEST_KEY, cloud: 'AzureCloud', region: 'japanwest' },
    { key: EAST_KEY, cloud: 'AzureCloud', region: 'japaneast' },
  ],
  now,
  latencyMs: LATENCY_MS,
});
vault.setSecret('speech-key', WEST_KEY);
vault.setSecret('speech-east-key', EAST_KEY);

// The app as the local host serves it: the bundle (dist/bundle), built by the npm script.
const app = (await import(join(repositoryRoot(), 'dist', 'bundle', 'app.js'))) as BundleExports;
const instance = app.createApp(
  {
    AUTH_TENANT_ID: TENANT,
    AUTH_AUDIENCES: AUDIENCE,
    AUTH_AUTHORITY_HOST: entra.authorityHost,
    KEY_VAULT_URI: vault.vaultUrl,
    RATE_LIMIT_PER_MINUTE: '0',
    TOKEN_RESOURCES: JSON.stringify([
      {
        name: 'speech',
        kind: 'speech',
        region: 'japanwest',
        secretName: 'speech-key',
        allowedRoles: ['Speech.Token'],
        failover: [{ region: 'japaneast', secretName: 'speech-east-key' }],
      },
    ]),
  },
  {
    now,
    // The regional STS hosts are the fake's; Entra's loopback URLs are real.
    fetch: (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      return url.startsWith('https://') ? cognitive.fetch(input, init) : fetch(input, init);
    },
    credential: fakeKeyVaultCredential,
    keyVaultClientOptions: { tlsOptions: { ca: vault.certificatePem } },
    logger: new app.Logger(() => undefined),
  },
);
if (instance.services.configurationError !== undefined) throw instance.services.configurationError;
const server = createLocalHost({ routes: instance.routes, app, sink: () => undefined });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/token/speech`;
// A caller token minted on the moved clock: the bench moves it by hours in all.
const caller = async () => ({
  authorization: `Bearer ${await entra.mint({ aud: AUDIENCE, roles: ['Speech.Token'] })}`,
});

/** One request's latency in ms and the region that answered. */
async function single(): Promise<{ ms: number; region: string | null }> {
  const started = performance.now();
  const response = await fetch(url, { headers: await caller() });
  const body = (await response.json()) as { region?: string | null };
  if (response.status !== 200) throw new Error(`answered ${response.status}: ${JSON.stringify(body)}`);
  return { ms: performance.now() - started, region: body.region ?? null };
}

const row = (name: string, r: LoadResult) =>
  `${name.padEnd(34)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(6)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   max ${(r.latencies.at(-1) ?? 0).toFixed(1).padStart(7)} ms   failures ${r.failures}`;
const outage = (behaviour: Parameters<typeof cognitive.script>[1]) => cognitive.script(WEST_STS, behaviour);
const endOutage = () => cognitive.script(WEST_STS, { status: 503, times: 0 });

try {
  await instance.warmedUp;
  await load(url, await caller(), TOTAL, CONCURRENCY); // JIT, caller token cache: as long as a timed run

  // Interleaved, so a machine whose load drifts weighs on each alike: a cached answer; a normal
  // refresh (the cached token has run out, the primary answers: one STS round trip); the first
  // request of an outage that outlived the cached token (the primary's 503, one attempt, then the
  // fallback's exchange; its key was read at start-up). Each round starts with the primary serving.
  const warm: number[] = [];
  const refreshes: number[] = [];
  const firstFailovers: number[] = [];
  for (let i = 0; i < SINGLES; i++) {
    warm.push((await single()).ms);
    offset += TEN_MINUTES;
    refreshes.push((await single()).ms);
    offset += TEN_MINUTES;
    outage({ status: 503 });
    const answer = await single();
    if (answer.region !== 'japaneast') throw new Error(`expected the fallback, got ${answer.region ?? 'null'}`);
    firstFailovers.push(answer.ms);
    endOutage();
    await waitForPrimary();
  }
  // A hanging primary: its one attempt runs out (5 s), then the fallback.
  offset += TEN_MINUTES;
  outage({ hang: true });
  const hung = await single();
  endOutage();
  await waitForPrimary();

  // Alternating rounds under load: the primary serving, then an outage that has outlived the cached
  // token (the round's first requests make the switch, none may fail), then back to the primary.
  const before: LoadResult[] = [];
  const during: LoadResult[] = [];
  let probes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const headers = await caller();
    before.push(await load(url, headers, PER_ROUND, CONCURRENCY));
    const primaryCalls = cognitive.stsCalls(WEST_STS);
    outage({ status: 503 });
    offset += TEN_MINUTES;
    during.push(await load(url, headers, PER_ROUND, CONCURRENCY));
    if ((await single()).region !== 'japaneast') throw new Error('the fallback did not serve during the outage');
    probes += cognitive.stsCalls(WEST_STS) - primaryCalls;
    endOutage();
    await waitForPrimary();
  }
  const beforeAll = combined(before);
  const duringAll = combined(during);
  const memberRoundTrip = median(refreshes) - median(warm);
  const extra = median(firstFailovers) - median(warm);

  console.log(
    `Failover: speech (japanwest) with a fallback in japaneast; every upstream answers after ${LATENCY_MS} ms; ${SINGLES} rounds of single requests, then ${ROUNDS} alternating rounds of ${PER_ROUND} requests, ${CONCURRENCY} concurrent, keep-alive`,
  );
  const singles = (name: string, values: readonly number[]) =>
    `${name.padEnd(42)} median ${median(values).toFixed(1).padStart(6)} ms   (${values.map((v) => v.toFixed(1)).join(' ')})`;
  console.log(singles('cached answer', warm));
  console.log(singles('normal refresh (primary up)', refreshes));
  console.log(singles('first failed-over request (primary 503)', firstFailovers));
  console.log(
    `  extra time of the first failed-over request: ${extra.toFixed(1)} ms over a cached answer; one STS round trip here is ${memberRoundTrip.toFixed(1)} ms (a normal refresh over a cached answer), so the target (one round trip of the member plus 50 ms) is ${(memberRoundTrip + 50).toFixed(1)} ms: ${extra <= memberRoundTrip + 50 ? 'met' : 'missed'}`,
  );
  console.log(
    `first failed-over request (primary hangs)  ${hung.ms.toFixed(0)} ms   (one 5 s attempt, then the fallback)`,
  );
  console.log(row('before the outage (primary serves)', beforeAll));
  console.log(row('during the outage (fallback serves)', duringAll));
  const ratios = during.map((r, i) => r.requestsPerSecond / (before[i]?.requestsPerSecond ?? Infinity));
  console.log(
    `req/s during / before ${(duringAll.requestsPerSecond / beforeAll.requestsPerSecond).toFixed(2)} (per round ${ratios.map((r) => r.toFixed(2)).join(' ')})   failures in all: ${beforeAll.failures + duringAll.failures}   STS calls at the primary during the outages (the failed one and the probes): ${probes}`,
  );
} finally {
  server.close();
  await Promise.all([entra.close(), vault.close(), cognitive.close()]);
}

/** Moves the clock past the probe backoff and asks until the primary serves again. */
async function waitForPrimary(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    offset += 61_000;
    if ((await single()).region === 'japanwest') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the primary never served again');
}
