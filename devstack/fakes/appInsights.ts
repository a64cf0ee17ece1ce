import { createServer } from 'node:https';
import { z } from 'zod';
import { closeServer, listenOnLoopback, readBody } from './server.js';
import { createSelfSignedCertificate } from './tls.js';

export interface FakeAppInsightsOptions {
  /** Bearer tokens accepted; `undefined` accepts a request without one (key-only ingestion). */
  readonly acceptToken?: (token: string | undefined) => boolean;
  /** Delay before every answer, in ms. Default 0. */
  readonly latencyMs?: number;
}

/** One metric point as the exporter sends it: `value` is the sum, `count` the number of measurements. */
export interface ReceivedMetric {
  readonly name: string;
  readonly value: number;
  readonly count: number;
  readonly properties: Readonly<Record<string, string>>;
}

/** One span as a dependency (`RemoteDependencyData`). */
export interface ReceivedDependency {
  readonly name: string;
  readonly success: boolean;
  readonly target: string | undefined;
  readonly resultCode: string | undefined;
  readonly type: string | undefined;
  readonly properties: Readonly<Record<string, string>>;
  /** `ai.operation.id`: the trace the call belongs to. */
  readonly operationId: string | undefined;
}

export interface FakeAppInsights {
  /** `InstrumentationKey=…;IngestionEndpoint=https://127.0.0.1:PORT/`. */
  readonly connectionString: string;
  readonly certificatePem: string;
  readonly metrics: ReceivedMetric[];
  readonly dependencies: ReceivedDependency[];
  /** Every POST: its status and whether it carried a bearer token. */
  readonly posts: { readonly status: number; readonly bearer: boolean }[];
  /** The next `count` posts answer `status` (500: ingestion is down; 401: the token is refused). */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

export const FAKE_INSTRUMENTATION_KEY = '00000000-0000-4000-8000-0000000000a1';

const envelope = z.looseObject({
  name: z.string(),
  iKey: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  data: z.looseObject({
    baseType: z.string(),
    baseData: z.looseObject({
      metrics: z.array(z.looseObject({ name: z.string(), value: z.number(), count: z.number().optional() })).optional(),
      name: z.string().optional(),
      success: z.boolean().optional(),
      target: z.string().optional(),
      resultCode: z.string().optional(),
      type: z.string().optional(),
      properties: z.record(z.string(), z.string()).optional(),
    }),
  }),
});

/**
 * Application Insights ingestion (`POST /v2.1/track`, a JSON array of envelopes) over TLS, as the
 * Azure Monitor exporter sends to it: metric envelopes (`MetricData`) and spans as dependencies
 * (`RemoteDependencyData`) are parsed and kept for tests to read. Answers as the service does:
 * `{ itemsReceived, itemsAccepted, errors }`.
 */
export async function startFakeAppInsights(options: FakeAppInsightsOptions = {}): Promise<FakeAppInsights> {
  const { cert, key } = createSelfSignedCertificate();
  const metrics: ReceivedMetric[] = [];
  const dependencies: ReceivedDependency[] = [];
  const posts: { status: number; bearer: boolean }[] = [];
  let failures = { count: 0, status: 500 };
  const accept = options.acceptToken ?? (() => true);

  const server = createServer({ cert, key }, (req, res) => {
    // Bounded like any fake of ours: a runaway exporter must not eat the test's memory.
    void readBody(req, 8 * 1024 * 1024).then(
      (text) => {
        const answer = (status: number, body: unknown) => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        const url = new URL(req.url ?? '/', 'https://ingestion');
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const record = (status: number) => posts.push({ status, bearer: bearer !== undefined });
        if (req.method !== 'POST' || url.pathname !== '/v2.1/track') {
          record(404);
          answer(404, { error: `No ${req.method ?? ''} ${url.pathname} here.` });
          return;
        }
        if (failures.count > 0) {
          failures.count--;
          record(failures.status);
          answer(failures.status, { itemsReceived: 0, itemsAccepted: 0, errors: [] });
          return;
        }
        if (!accept(bearer)) {
          record(401);
          answer(401, {
            itemsReceived: 0,
            itemsAccepted: 0,
            errors: [{ index: 0, statusCode: 401, message: 'Unauthorized' }],
          });
          return;
        }
        let items: unknown;
        try {
          items = JSON.parse(text);
        } catch {
          record(400);
          answer(400, {
            itemsReceived: 0,
            itemsAccepted: 0,
            errors: [{ index: 0, statusCode: 400, message: 'Invalid JSON' }],
          });
          return;
        }
        const parsed = z.array(envelope).safeParse(items);
        if (!parsed.success || parsed.data.some((e) => e.iKey !== FAKE_INSTRUMENTATION_KEY)) {
          record(400);
          answer(400, {
            itemsReceived: 0,
            itemsAccepted: 0,
            errors: [{ index: 0, statusCode: 400, message: 'Invalid instrumentation key or envelope' }],
          });
          return;
        }
        for (const { data, tags } of parsed.data) {
          const { baseData } = data;
          const properties = baseData.properties ?? {};
          if (data.baseType === 'MetricData') {
            for (const metric of baseData.metrics ?? [])
              metrics.push({ name: metric.name, value: metric.value, count: metric.count ?? 1, properties });
          } else if (data.baseType === 'RemoteDependencyData') {
            dependencies.push({
              name: baseData.name ?? '',
              success: baseData.success ?? true,
              target: baseData.target,
              resultCode: baseData.resultCode,
              type: baseData.type,
              properties,
              operationId: tags?.['ai.operation.id'],
            });
          }
        }
        record(200);
        answer(200, { itemsReceived: parsed.data.length, itemsAccepted: parsed.data.length, errors: [] });
      },
      () => res.destroy(),
    );
  });
  const port = await listenOnLoopback(server, options.latencyMs ?? 0);
  return {
    connectionString: `InstrumentationKey=${FAKE_INSTRUMENTATION_KEY};IngestionEndpoint=https://127.0.0.1:${port}/`,
    certificatePem: cert,
    metrics,
    dependencies,
    posts,
    failNext(count, status) {
      failures = { count, status };
    },
    close: () => closeServer(server),
  };
}
