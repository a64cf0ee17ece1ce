import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repositoryRoot, startLocalStack, STACK_KEYS, stopProcess } from '../devstack/localStack.js';
import { combined, cpuMs, get, load, type LoadResult } from './load.js';

// `npm run bench`: the local host (a child process) against the wire-level fakes, next to a bare
// node:http server returning the same body on the same machine. Bounded: fixed request counts.
const TOTAL = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const BURST = 300;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
// BENCH_TELEMETRY=on: the host exports to a fake Application Insights ingestion (TLS, managed
// identity), metrics every BENCH_TELEMETRY_INTERVAL_MS (default 1000, so exports happen during the
// timed run; Azure's default is 60000).
const TELEMETRY =
  process.env.BENCH_TELEMETRY === 'on'
    ? { exportIntervalMs: Number(process.env.BENCH_TELEMETRY_INTERVAL_MS ?? 1000) }
    : undefined;

function row(name: string, r: LoadResult): string {
  return `${name.padEnd(22)} ${r.requestsPerSecond.toFixed(0).padStart(8)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(6)} ms   p99 ${r.p99Ms.toFixed(2).padStart(6)} ms   failures ${r.failures}`;
}

async function bareServer(body: string): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(repositoryRoot(), 'dist', 'bench', 'bareServer.js')], {
    env: { ...process.env, BARE_BODY: body },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid,
    stop: () => stopProcess(child),
  };
}

async function warmPath(): Promise<void> {
  const stack = await startLocalStack({
    hostOutput: 'file',
    ...(TELEMETRY === undefined ? {} : { telemetry: TELEMETRY }),
  });
  try {
    const headers = { authorization: `Bearer ${await stack.callerToken()}` };
    const url = `${stack.apiUrl}/token/speech`;
    const sample = await fetch(url, { headers });
    const body = await sample.text();
    await load(url, headers, 2000, CONCURRENCY); // warm-up: JIT, key set, token cache
    const bare = await bareServer(body);
    try {
      await load(bare.url, {}, 2000, CONCURRENCY);
      // Alternating rounds: a machine whose load drifts during the run weighs on both sides alike.
      const postsBefore = stack.appInsights?.posts.length ?? 0;
      const serviceRounds: LoadResult[] = [];
      const bareRounds: LoadResult[] = [];
      const cpu = { service: 0, bare: 0 };
      const timed = async (side: 'service' | 'bare', rounds: LoadResult[], work: () => Promise<LoadResult>) => {
        const pid = side === 'service' ? stack.hostPid : bare.pid;
        const before = cpuMs(pid);
        rounds.push(await work());
        cpu[side] += cpuMs(pid) - before;
      };
      const perRound = Math.ceil(TOTAL / ROUNDS);
      for (let round = 0; round < ROUNDS; round++) {
        const service = () => timed('service', serviceRounds, () => load(url, headers, perRound, CONCURRENCY));
        const baseline = () => timed('bare', bareRounds, () => load(bare.url, {}, perRound, CONCURRENCY));
        if (round % 2 === 0) {
          await service();
          await baseline();
        } else {
          await baseline();
          await service();
        }
      }
      const postsDuring = (stack.appInsights?.posts.length ?? 0) - postsBefore;
      const service = combined(serviceRounds);
      const baseline = combined(bareRounds);
      console.log(
        `Warm path: ${TOTAL} requests each, ${CONCURRENCY} concurrent, keep-alive, one caller token, in ${ROUNDS} alternating rounds; telemetry export ${TELEMETRY === undefined ? 'off' : `on (metrics every ${TELEMETRY.exportIntervalMs} ms)`}`,
      );
      console.log(row('GET /api/token/speech', service));
      console.log(row('bare node:http', baseline));
      const ratios = serviceRounds.map((r, i) => r.requestsPerSecond / (bareRounds[i]?.requestsPerSecond ?? Infinity));
      console.log(
        `ratio (service / bare) ${(service.requestsPerSecond / baseline.requestsPerSecond).toFixed(2)}   (target >= 0.8; per round ${ratios.map((r) => r.toFixed(2)).join(' ')})`,
      );
      if (cpu.service > 0 && cpu.bare > 0) {
        const perRequest = (ms: number) => (ms * 1000) / (perRound * ROUNDS);
        console.log(
          `CPU per request: service ${perRequest(cpu.service).toFixed(0)} µs, bare ${perRequest(cpu.bare).toFixed(0)} µs; bare / service ${(cpu.bare / cpu.service).toFixed(2)} (the throughput ratio of a saturated core, less sensitive to other load on the machine)`,
        );
      }
      console.log(
        `upstream calls during the warm run: STS ${stack.cognitive.stsCalls()}, Key Vault ${stack.vault.requests.get}`,
      );
      if (stack.appInsights !== undefined) {
        const { posts, metrics } = stack.appInsights;
        const served = metrics
          .filter((m) => m.name === 'token_requests' && m.properties.outcome === 'ok')
          .reduce((n, m) => n + m.value, 0);
        console.log(
          `telemetry: ${postsDuring} exports during the timed service run (${posts.filter((p) => p.status === 200).length} of ${posts.length} accepted); token_requests ok received so far: ${served}`,
        );
      }
    } finally {
      await bare.stop();
    }
  } finally {
    await stack.stop();
  }
}

async function coldBurst(): Promise<void> {
  const stack = await startLocalStack();
  try {
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => stack.callerToken({ oid: `caller-${i}` })));
    const statuses = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        get(`${stack.apiUrl}/token/${i % 2 === 0 ? 'speech' : 'translator'}`, {
          authorization: `Bearer ${tokens[i % tokens.length]}`,
        }),
      ),
    );
    const byKey = (key: string) =>
      stack.cognitive.calls.filter((c) => c.path.endsWith('/issueToken') && c.keyLast4 === key.slice(-4)).length;
    console.log(`Cold burst: ${BURST} concurrent requests over 2 resources from 10 callers, on a fresh host`);
    console.log(
      `  answers: ${statuses.filter((s) => s === 200).length} x 200, ${statuses.filter((s) => s !== 200).length} other`,
    );
    console.log(
      `  STS calls: speech ${byKey(STACK_KEYS.speech)}, translator ${byKey(STACK_KEYS.translator)}   (target: 1 each)`,
    );
    console.log(
      `  Key Vault reads: ${JSON.stringify(stack.vault.requests.byName)}   Entra: discovery ${stack.entra.requests.discovery}, JWKS ${stack.entra.requests.jwks}`,
    );
  } finally {
    await stack.stop();
  }
}

await warmPath();
await coldBurst();
