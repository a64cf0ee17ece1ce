import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLocalHost, type BundleExports } from '../devstack/host/localHost.js';
import { startFakeCognitive } from '../devstack/fakes/cognitive.js';
import { startFakeEntra } from '../devstack/fakes/entra.js';
import { fakeKeyVaultCredential, startFakeKeyVault } from '../devstack/fakes/keyVault.js';
import { repositoryRoot } from '../devstack/repository.js';
import { load, type LoadResult } from './load.js';

// `npm run bench:failover`: a primary STS outage under load, for a resource with one fallback in
// another region. The service runs in this process with the fakes (Entra, Key Vault, STS, each
// answering after LATENCY ms) on one clock that the bench moves forward, so "the outage has lasted
// until the cached token ran out" takes no real ten minutes. Measured: the time of the first
// request that fails over (beside a normal refresh), the requests of the switch under load (none
// may fail), and requests per second before and during the outage. Bounded: fixed request counts.
const LATENCY_MS = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 20);
const TOTAL = Number(process.env.BENCH_REQUESTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SINGLES = 5;

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

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const row = (name: string, r: LoadResult) =>
  `${name.padEnd(34)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(6)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   max ${(r.latencies.at(-1) ?? 0).toFixed(1).padStart(7)} ms   failures ${r.failures}`;
const outage = (behaviour: Parameters<typeof cognitive.script>[1]) => cognitive.script(WEST_STS, behaviour);
const endOutage = () => cognitive.script(WEST_STS, { status: 503, times: 0 });

try {
  await instance.warmedUp;
  await load(url, await caller(), TOTAL, CONCURRENCY); // JIT, caller token cache: as long as a timed run

  // A normal refresh: the cached token has run out, the primary answers (one STS round trip).
  const refreshes: number[] = [];
  for (let i = 0; i < SINGLES; i++) {
    offset += TEN_MINUTES;
    refreshes.push((await single()).ms);
  }
  // The first request of an outage that outlived the cached token: the primary's refusal (503, one
  // attempt), then the fallback's exchange. Each round starts from the primary healthy again.
  const firstFailovers: number[] = [];
  for (let i = 0; i < SINGLES; i++) {
    offset += TEN_MINUTES;
    endOutage();
    await waitForPrimary();
    offset += TEN_MINUTES;
    outage({ status: 503 });
    const answer = await single();
    if (answer.region !== 'japaneast') throw new Error(`expected the fallback, got ${answer.region ?? 'null'}`);
    firstFailovers.push(answer.ms);
  }
  // A hanging primary: its one attempt runs out (5 s), then the fallback.
  offset += TEN_MINUTES;
  endOutage();
  await waitForPrimary();
  offset += TEN_MINUTES;
  outage({ hang: true });
  const hung = await single();
  endOutage();
  await waitForPrimary();

  const headers = await caller();
  const before = await load(url, headers, TOTAL, CONCURRENCY);
  const primaryCalls = cognitive.stsCalls(WEST_STS);
  // The switch under load: CONCURRENCY callers keep asking while the cached token runs out during a
  // primary outage; every request must be answered.
  const switching = load(url, headers, TOTAL, CONCURRENCY);
  await new Promise((resolve) => setTimeout(resolve, 100));
  outage({ status: 503 });
  offset += TEN_MINUTES;
  const atSwitch = await switching;
  const during = await load(url, headers, TOTAL, CONCURRENCY);
  const regionDuring = (await single()).region;
  const probes = cognitive.stsCalls(WEST_STS) - primaryCalls;

  console.log(
    `Failover: speech (japanwest) with a fallback in japaneast; every upstream answers after ${LATENCY_MS} ms; ${TOTAL} requests per load, ${CONCURRENCY} concurrent, keep-alive, one caller token`,
  );
  console.log(
    `normal refresh (cache miss, primary up)   median ${median(refreshes).toFixed(1)} ms   (${refreshes.map((v) => v.toFixed(1)).join(' ')})`,
  );
  console.log(
    `first failed-over request (primary 503)   median ${median(firstFailovers).toFixed(1)} ms   (${firstFailovers.map((v) => v.toFixed(1)).join(' ')})`,
  );
  console.log(
    `  extra time over a normal refresh: ${(median(firstFailovers) - median(refreshes)).toFixed(1)} ms   (target: within one member round trip, ${LATENCY_MS} ms, plus 50 ms)`,
  );
  console.log(
    `first failed-over request (primary hangs) ${hung.ms.toFixed(0)} ms   (one 5 s attempt, then the fallback)`,
  );
  console.log(row('before the outage (primary serves)', before));
  console.log(row('the switch, under load', atSwitch));
  console.log(row(`during the outage (${regionDuring ?? 'null'} serves)`, during));
  console.log(
    `req/s during / before: ${(during.requestsPerSecond / before.requestsPerSecond).toFixed(2)}   failures in all: ${before.failures + atSwitch.failures + during.failures}   STS calls at the primary since the outage began (the failed one and the probes): ${probes}`,
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
