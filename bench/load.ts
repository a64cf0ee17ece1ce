import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface LoadResult {
  readonly requests: number;
  readonly failures: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Every request's latency in ms, sorted. */
  readonly latencies: readonly number[];
}

/** A bounded closed-loop load: `total` GETs with `concurrency` keep-alive connections, then stop. */
export async function load(
  url: string,
  headers: Record<string, string>,
  total: number,
  concurrency: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    return await loadCalls(() => get(url, headers, agent), total, concurrency);
  } finally {
    agent.destroy();
  }
}

/**
 * A bounded closed-loop load of any call answering an HTTP status: `total` calls, `concurrency`
 * at a time, each worker `w` calling `call(w)`; a status other than 200 or 201 is a failure.
 */
export async function loadCalls(
  call: (worker: number) => Promise<number>,
  total: number,
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async (index: number) => {
    while (issued < total) {
      issued++;
      const t0 = performance.now();
      const status = await call(index);
      latencies.push(performance.now() - t0);
      if (status !== 200 && status !== 201) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  const seconds = (performance.now() - started) / 1000;
  return summarize(latencies, failures, seconds);
}

function summarize(latencies: number[], failures: number, seconds: number): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    requests: sorted.length,
    failures,
    seconds,
    requestsPerSecond: sorted.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    latencies: sorted,
  };
}

/** Several runs as one: their requests over their summed time, percentiles over every latency. */
export function combined(results: readonly LoadResult[]): LoadResult {
  return summarize(
    results.flatMap((r) => r.latencies),
    results.reduce((n, r) => n + r.failures, 0),
    results.reduce((n, r) => n + r.seconds, 0),
  );
}

export function get(url: string, headers: Record<string, string>, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, ...(agent ? { agent } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A process's CPU time (user + system) in ms, from /proc; 0 where there is none. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, after the command in parentheses: clock ticks (100/s).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** The median of `values` (the mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
