import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { hostCommand, repositoryRoot, startDevFakes, stopProcess, type DevFakes } from '../devstack/localStack.js';
import { readLocalSettings } from '../src/config/localSettings.js';
import { median } from './load.js';

// `npm run bench:cold`: what a new instance costs its first caller. RUNS fresh processes of the
// local host (which loads package.json `main`, as Azure does) against the fakes, each upstream
// answering after LATENCY ms. Beside it, in the same run, the floor: a bare node:http process
// spawned until it answers, plus two dependent round trips (discovery then JWKS, side by side
// with Key Vault then STS). Bounded: RUNS processes, each given at most 15 s.
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
const LATENCY_MS = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 50);
const DEADLINE_MS = 15_000;

const root = repositoryRoot();
const main = join(root, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string }).main);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Polls `url` until it answers `expected`; the time since `started`, in ms. */
async function firstAnswer(url: string, headers: Record<string, string>, started: number): Promise<number> {
  while (performance.now() - started < DEADLINE_MS) {
    let response: Response;
    try {
      response = await fetch(url, { headers });
      await response.arrayBuffer();
    } catch {
      // Not listening yet.
      await new Promise((resolve) => setTimeout(resolve, 2));
      continue;
    }
    if (response.ok) return performance.now() - started;
    throw new Error(`${url} answered ${response.status}`);
  }
  throw new Error(`${url} did not answer within ${DEADLINE_MS} ms`);
}

interface ColdRun {
  readonly healthMs: number;
  readonly tokenMs: number;
}

async function coldHost(fakes: DevFakes, callerToken: string): Promise<ColdRun> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/api`;
  const started = performance.now();
  const child = spawn(process.execPath, ['--enable-source-maps', ...hostCommand(fakes.settingsPath)], {
    env: { ...process.env, ...fakes.processEnv, PORT: String(port) },
    stdio: 'ignore',
  });
  try {
    const [healthMs, tokenMs] = await Promise.all([
      firstAnswer(`${base}/health`, {}, started),
      firstAnswer(`${base}/token/speech`, { authorization: `Bearer ${callerToken}` }, started),
    ]);
    return { healthMs, tokenMs };
  } finally {
    await stopProcess(child);
  }
}

async function bareServer(): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist', 'bench', 'bareServer.js')], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'ignore',
  });
  try {
    return await firstAnswer(`http://127.0.0.1:${port}/`, {}, started);
  } finally {
    await stopProcess(child);
  }
}

/** Import time of `main` in a fresh process, settings in the environment as Azure gives them. */
function importTime(fakes: DevFakes): Promise<number> {
  const values = readLocalSettings(fakes.settingsPath).values;
  const script = `const t = performance.now(); await import(${JSON.stringify(main)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...values, ...fakes.processEnv },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      if (code === 0) resolve(Number(out));
      else reject(new Error(`importing ${main} exited with ${code}`));
    });
  });
}

const fakes = await startDevFakes({ upstreamLatencyMs: LATENCY_MS });
try {
  const callerToken = await fakes.callerToken();
  const imports: number[] = [];
  const runs: ColdRun[] = [];
  const bare: number[] = [];
  // Interleaved, so a noisy moment on the machine touches every series alike.
  for (let run = 0; run < RUNS; run++) {
    imports.push(await importTime(fakes));
    runs.push(await coldHost(fakes, callerToken));
    bare.push(await bareServer());
  }
  const floor = median(bare) + 2 * LATENCY_MS;
  const token = median(runs.map((r) => r.tokenMs));
  const fmt = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;
  console.log(`Cold start: ${RUNS} fresh processes, every upstream answering after ${LATENCY_MS} ms (medians)`);
  console.log(`  import of main (${main.slice(root.length + 1)})     ${fmt(median(imports))}   (target <= 100 ms)`);
  console.log(`  spawn to /api/health 200             ${fmt(median(runs.map((r) => r.healthMs)))}`);
  console.log(`  spawn to first token 200             ${fmt(token)}`);
  console.log(`  floor: bare node:http spawn to 200   ${fmt(median(bare))}  + 2 x ${LATENCY_MS} ms = ${fmt(floor)}`);
  console.log(`  ratio (first token / floor)          ${(token / floor).toFixed(2).padStart(8)}   (target <= 1.5)`);
} finally {
  await fakes.close();
}
