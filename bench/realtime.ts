import { Agent } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import { availableParallelism, loadavg } from 'node:os';
import { startLocalStack, STACK_REALTIME } from '../devstack/localStack.js';
import { combined, cpuMs, get, loadCalls, type LoadResult } from './load.js';

// `npm run bench:realtime`: GPT Realtime keys through the local host (a child process), the fake
// Azure OpenAI answering every mint after UPSTREAM_MS, next to the same mint posted straight to the
// fake with the same managed-identity token, body and concurrency. What the service adds on top of
// the upstream is the difference. Bounded: fixed request counts, alternating rounds.
const TOTAL = Number(process.env.BENCH_REALTIME_REQUESTS ?? 4000);
const CALLERS = Number(process.env.BENCH_REALTIME_CALLERS ?? 50);
const UPSTREAM_MS = Number(process.env.BENCH_REALTIME_UPSTREAM_MS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const AUDIENCE = 'https://cognitiveservices.azure.com';

function row(name: string, r: LoadResult): string {
  return `${name.padEnd(34)} ${r.requestsPerSecond.toFixed(0).padStart(6)} mints/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   failures ${r.failures}`;
}

/** POSTs `body` over TLS trusting `ca`; resolves with the status once the answer is read. */
function post(url: string, headers: Record<string, string>, body: string, agent: TlsAgent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = tlsRequest(url, { method: 'POST', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const loadBefore = loadavg()[0] ?? 0;
const stack = await startLocalStack({
  hostOutput: 'file',
  openaiLatencyMs: UPSTREAM_MS,
  // The benchmark's callers ask far more often than a person talks.
  realtimeCallerLimitPerMinute: 0,
});
try {
  const tokens = await Promise.all(
    Array.from({ length: CALLERS }, (_, i) =>
      stack.callerToken({ oid: `bench-caller-${i}`, roles: [STACK_REALTIME.role] }),
    ),
  );
  const api = new Agent({ keepAlive: true, maxSockets: CALLERS });
  const service = (worker: number) =>
    get(`${stack.apiUrl}/token/${STACK_REALTIME.resource}`, { authorization: `Bearer ${tokens[worker] ?? ''}` }, api);

  // The same mint, straight to the fake: the managed identity's token, the body the service sends.
  const identity = await fetch(`${stack.identity.env.IDENTITY_ENDPOINT}?resource=${AUDIENCE}&api-version=2019-08-01`, {
    headers: { 'X-IDENTITY-HEADER': stack.identity.env.IDENTITY_HEADER },
  });
  const { access_token: bearer } = (await identity.json()) as { access_token: string };
  const body = JSON.stringify({
    session: {
      instructions: STACK_REALTIME.instructions,
      audio: { output: { voice: STACK_REALTIME.voice } },
      type: 'realtime',
      model: STACK_REALTIME.deployment,
    },
  });
  const tls = new TlsAgent({ keepAlive: true, maxSockets: CALLERS, ca: stack.openai.certificatePem });
  const mintUrl = `${stack.openai.url}/openai/v1/realtime/client_secrets`;
  const headers = { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' };
  const direct = () => post(mintUrl, headers, body, tls);

  // Warm-up: JIT, caller tokens verified, the host's identity token, connections open.
  await loadCalls(service, CALLERS * 4, CALLERS);
  await loadCalls(direct, CALLERS * 4, CALLERS);

  const serviceRounds: LoadResult[] = [];
  const directRounds: LoadResult[] = [];
  const mintsBefore = stack.openai.mints.length;
  const connectionsBefore = stack.openai.connections();
  let hostCpu = 0;
  const perRound = Math.ceil(TOTAL / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const throughService = async () => {
      const before = cpuMs(stack.hostPid);
      serviceRounds.push(await loadCalls(service, perRound, CALLERS));
      hostCpu += cpuMs(stack.hostPid) - before;
    };
    const straight = async () => {
      directRounds.push(await loadCalls(direct, perRound, CALLERS));
    };
    if (round % 2 === 0) {
      await throughService();
      await straight();
    } else {
      await straight();
      await throughService();
    }
  }
  api.destroy();
  tls.destroy();
  const connectionsDuring = stack.openai.connections() - connectionsBefore;
  const viaService = combined(serviceRounds);
  const straightToFake = combined(directRounds);
  const added = (q: 'p50Ms' | 'p99Ms') => viaService[q] - straightToFake[q];
  console.log(
    `Realtime keys: ${perRound * ROUNDS} mints each way, ${CALLERS} concurrent callers (one caller token each), the fake Azure OpenAI answering after ${UPSTREAM_MS} ms, ${ROUNDS} alternating rounds`,
  );
  console.log(row(`GET /api/token/${STACK_REALTIME.resource}`, viaService));
  console.log(row('POST client_secrets, straight', straightToFake));
  console.log(
    `added by the service: p50 ${added('p50Ms').toFixed(2)} ms, p99 ${added('p99Ms').toFixed(2)} ms   (target: p50 < 5 ms)`,
  );
  // Figures from a machine others are using say little: the load they were taken under.
  console.log(
    `machine: ${availableParallelism()} CPUs, load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]?.toFixed(1) ?? '?'} after (1 minute)`,
  );
  if (hostCpu > 0) console.log(`host CPU per mint: ${((hostCpu * 1000) / (perRound * ROUNDS)).toFixed(0)} µs`);
  const minted = stack.openai.mints.slice(mintsBefore);
  const keys = new Set(minted.flatMap((m) => (m.value === undefined ? [] : [m.value])));
  console.log(
    `mints at the fake during the timed runs: ${minted.length} (${minted.filter((m) => m.status === 200).length} ok), ${keys.size} distinct keys; managed-identity token requests by the host: ${stack.identity.requests.filter((r) => r.resource === AUDIENCE).length - 1}; TLS connections opened to the fake: ${connectionsDuring}`,
  );
} finally {
  await stack.stop();
}
