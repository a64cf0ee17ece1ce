import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from './server.js';

type CloudName = 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment';

/** A resource key and the resource it belongs to: valid only at that resource's own hosts. */
export interface FakeKey {
  readonly key: string;
  readonly cloud: CloudName;
  readonly region?: string;
  /** A custom subdomain name; `loopback` means requests aimed straight at the fake's own URL. */
  readonly subdomain?: string;
}

export type Behaviour =
  | { status: 429; retryAfterSeconds?: number; times?: number }
  | { status: 500 | 502 | 503; times?: number }
  | { status: 403; kind: 'localAuthDisabled' | 'networkRestricted'; times?: number }
  | { hang: true; times?: number };

export interface FakeCall {
  readonly host: string;
  readonly path: string;
  readonly status: number;
  readonly keyLast4?: string;
}

export interface FakeCognitive {
  readonly url: string;
  /** Sends any `https://<host>/…` to this fake, which answers as that host would. */
  readonly fetch: typeof fetch;
  readonly calls: FakeCall[];
  legacy401Body: boolean;
  /** Makes the Speech service refuse every token, even fresh ones. */
  rejectTokens: boolean;
  script(host: string, behaviour: Behaviour): void;
  stsCalls(host?: string): number;
  resetCalls(): void;
  setKeys(keys: readonly FakeKey[]): void;
  close(): Promise<void>;
}

interface Target {
  readonly cloud: CloudName;
  /** `region:<name>` or `subdomain:<name>`: the identity of the resource a host belongs to. */
  readonly scope: string;
  readonly service: 'sts' | 'speech';
}

const CLOUD_HOSTS: ReadonlyArray<{ cloud: CloudName; sts: string; subdomain: string; speech: string }> = [
  { cloud: 'AzureCloud', sts: 'api.cognitive.microsoft.com', subdomain: 'cognitiveservices.azure.com', speech: 'speech.microsoft.com' },
  { cloud: 'AzureChinaCloud', sts: 'api.cognitive.azure.cn', subdomain: 'cognitiveservices.azure.cn', speech: 'speech.azure.cn' },
  { cloud: 'AzureUSGovernment', sts: 'api.cognitive.microsoft.us', subdomain: 'cognitiveservices.azure.us', speech: 'speech.azure.us' },
];

/** What the real DNS would say about a host: which cloud and resource it belongs to, if any. */
function targetOf(host: string): Target | undefined {
  if (host === 'loopback') return { cloud: 'AzureCloud', scope: 'subdomain:loopback', service: 'sts' };
  for (const { cloud, sts, subdomain, speech } of CLOUD_HOSTS) {
    if (host === sts) return { cloud, scope: 'region:global', service: 'sts' };
    if (host.endsWith(`.${sts}`) && !host.slice(0, -sts.length - 1).includes('.')) return { cloud, scope: `region:${host.slice(0, -sts.length - 1)}`, service: 'sts' };
    if (host.endsWith(`.${subdomain}`) && !host.slice(0, -subdomain.length - 1).includes('.')) return { cloud, scope: `subdomain:${host.slice(0, -subdomain.length - 1)}`, service: 'sts' };
    const speechMatch = new RegExp(`^([a-z0-9]+)\\.(stt|tts)\\.${speech.replace(/\./g, '\\.')}$`).exec(host);
    if (speechMatch) return { cloud, scope: `region:${speechMatch[1]}`, service: 'speech' };
  }
  return undefined;
}

const scopeOfKey = (key: FakeKey) => (key.subdomain !== undefined ? `subdomain:${key.subdomain}` : `region:${key.region}`);

/**
 * Azure AI services as seen from a client: the STS `issueToken` of every region, cloud and custom
 * subdomain, and the Speech voices list, routed by the host the client addressed.
 */
export async function startFakeCognitive(options: { keys: readonly FakeKey[]; now?: () => number }): Promise<FakeCognitive> {
  const now = options.now ?? Date.now;
  let keys = [...options.keys];
  const scripts = new Map<string, Behaviour & { remaining: number }>();
  const issued = new Map<string, { scope: string; cloud: CloudName; exp: number }>();

  const server = createServer((req, res) => {
    const host = (req.headers['x-fake-original-host'] as string | undefined) ?? 'loopback';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const target = targetOf(host);
    const record = (status: number, key?: string) =>
      fake.calls.push({ host, path, status, ...(key ? { keyLast4: key.slice(-4) } : {}) });
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
      res.end(body);
    };
    req.resume();
    if (target === undefined) {
      record(404);
      send(404, '{"error":{"code":"404","message":"Resource not found"}}');
      return;
    }

    const isVoices = path.endsWith('/cognitiveservices/voices/list');
    if (target.service === 'speech' || isVoices) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const grant = token === undefined ? undefined : issued.get(token);
      const ok = !fake.rejectTokens && grant !== undefined && grant.exp > now() && grant.scope === target.scope && grant.cloud === target.cloud;
      record(ok ? 200 : 401);
      if (!ok) {
        send(401, '');
        return;
      }
      send(200, JSON.stringify([
        { Name: 'Microsoft Server Speech Text to Speech Voice (ja-JP, NanamiNeural)', ShortName: 'ja-JP-NanamiNeural', Gender: 'Female', Locale: 'ja-JP', VoiceType: 'Neural' },
        { Name: 'Microsoft Server Speech Text to Speech Voice (en-US, AvaNeural)', ShortName: 'en-US-AvaNeural', Gender: 'Female', Locale: 'en-US', VoiceType: 'Neural' },
      ]));
      return;
    }

    if (req.method !== 'POST' || path !== '/sts/v1.0/issueToken') {
      record(404);
      send(404, '{"error":{"code":"404","message":"Resource not found"}}');
      return;
    }
    const key = req.headers['ocp-apim-subscription-key'] as string | undefined;
    const script = scripts.get(host) ?? scripts.get('*');
    if (script !== undefined && script.remaining > 0) {
      script.remaining--;
      if ('hang' in script) {
        record(0, key);
        return;
      }
      record(script.status, key);
      if (script.status === 429) {
        send(429, '{"error":{"code":"429","message":"Rate limit is exceeded. Try again later."}}', script.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(script.retryAfterSeconds) });
      } else if (script.status === 403) {
        send(403, script.kind === 'localAuthDisabled'
          ? '{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}'
          : '{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}');
      } else {
        send(script.status, '{"error":{"code":"InternalServerError","message":"An unexpected error occurred."}}');
      }
      return;
    }
    const owner = keys.find((k) => k.key === key && k.cloud === target.cloud && scopeOfKey(k) === target.scope);
    if (owner === undefined) {
      record(401, key);
      send(401, fake.legacy401Body
        ? '{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}'
        : '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}');
      return;
    }
    const exp = Math.floor(now() / 1000) + 600;
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({
      region: owner.region ?? 'custom', 'subscription-id': randomUUID().replace(/-/g, ''), 'product-id': 'SpeechServices.S0',
      'cognitive-services-endpoint': `https://${host}/internal/cognitiveservices`, 'azure-resource-id': '/subscriptions/x/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/fake',
      scope: 'speechservices', aud: 'urn:ms.speechservices', exp, iss: 'urn:ms.cognitiveservices',
    })}.${Buffer.from(randomUUID()).toString('base64url')}`;
    issued.set(token, { scope: target.scope, cloud: target.cloud, exp: exp * 1000 });
    record(200, key);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=us-ascii' });
    res.end(token);
  });
  const port = await listenOnLoopback(server);
  const url = `http://127.0.0.1:${port}`;

  const fake: FakeCognitive = {
    url,
    calls: [],
    legacy401Body: false,
    rejectTokens: false,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const target = new URL(request.url);
      if (target.origin === url) return fetch(request);
      if (target.protocol !== 'https:' || targetOf(target.hostname) === undefined) {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error(`getaddrinfo ENOTFOUND ${target.hostname}`), { code: 'ENOTFOUND' }) });
      }
      const headers = new Headers(request.headers);
      headers.set('x-fake-original-host', target.hostname);
      return fetch(`${url}${target.pathname}${target.search}`, {
        method: request.method,
        headers,
        signal: request.signal,
        redirect: 'manual',
        ...(request.method === 'GET' || request.method === 'HEAD' ? {} : { body: await request.arrayBuffer() }),
      });
    },
    script(host, behaviour) {
      scripts.set(host, { ...behaviour, remaining: behaviour.times ?? Number.POSITIVE_INFINITY });
    },
    stsCalls: (host) => fake.calls.filter((c) => c.path === '/sts/v1.0/issueToken' && (host === undefined || c.host === host)).length,
    resetCalls() {
      fake.calls.length = 0;
    },
    setKeys(next) {
      keys = [...next];
    },
    close: () => closeServer(server),
  };
  return fake;
}
