import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createSelfSignedCertificate } from './tls.js';
import { acceptedConnections, azureHostFetch, closeServer, listenOnLoopback } from './server.js';

export type FakeCloud = 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment';

/**
 * A resource key and the resource it belongs to. A key is accepted only at its own resource's
 * hosts: the regional STS of its cloud and region, and its custom subdomain if it has one.
 */
export interface FakeKey {
  readonly key: string;
  readonly cloud: FakeCloud;
  readonly region?: string;
  /** Custom subdomain name; `loopback` is the fake's own URL addressed directly. */
  readonly subdomain?: string;
  /**
   * The subdomain is reached through a private endpoint, so it serves the Speech REST paths too.
   * Without one it serves the STS and answers 404 to Speech paths, which live at the regional
   * hosts (Speech private-link article). The `loopback` subdomain serves everything.
   */
  readonly privateEndpoint?: boolean;
}

/** A scripted STS answer; after `times` requests (default: for ever) the normal one returns. */
export type Behaviour =
  /** `retryAfterSeconds` as a string is sent verbatim, as a misbehaving upstream might. */
  | { status: 429; retryAfterSeconds?: number | string; message?: string; times?: number }
  /** `message`: the error body's message instead of the service's usual one. */
  | { status: 500 | 502 | 503; message?: string; times?: number }
  | { status: 403; kind: 'localAuthDisabled' | 'networkRestricted'; times?: number }
  | { hang: true; times?: number }
  /**
   * 200 and its headers at once, then the body one byte every `intervalMs` (an upstream that
   * drips): it stops when the client goes away, or after `maxBytes` (default 2000), unfinished.
   */
  | { drip: { intervalMs: number; maxBytes?: number }; times?: number }
  /** Any answer a real STS gives (or a 200 whose body is not a token): status, body and headers, word for word. */
  | { status: number; body: string; headers?: Record<string, string>; times?: number };

export interface FakeCall {
  /** The host the client addressed (`loopback` for the fake's own URL). */
  readonly host: string;
  readonly path: string;
  /** 0 for a request left hanging. */
  readonly status: number;
  /** The last four characters of the key sent, if any: enough to tell keys apart, never a key. */
  readonly keyLast4?: string;
}

export interface FakeCognitive {
  /** `http://127.0.0.1:PORT`: usable directly as a custom-subdomain endpoint named `loopback`. */
  readonly url: string;
  /**
   * A fetch that sends `https://<Azure AI host>/…` to this fake, which answers as that host would.
   * Loopback URLs pass through to the real fetch; any other host fails as DNS would.
   */
  readonly fetch: typeof fetch;
  readonly calls: FakeCall[];
  /** Answer STS 401s with the older `{"statusCode":401,…}` body. */
  legacy401Body: boolean;
  /** Makes the Speech service refuse every token, even fresh ones. */
  rejectTokens: boolean;
  /**
   * Scripts the STS `issueToken` of one host (as addressed, e.g. `japanwest.api.cognitive.microsoft.com`)
   * or of all (`*`). A host's script comes first; once its `times` have run out, the one for all.
   */
  script(hostOrStar: string, behaviour: Behaviour): void;
  stsCalls(host?: string): number;
  /** Dripping answers still being written: 0 once every client that got one has gone away. */
  openDrips(): number;
  /** Connections accepted: fewer than calls when the client keeps them alive. */
  connections(): number;
  resetCalls(): void;
  /** Replaces the valid keys (key regeneration). Custom subdomains once known keep resolving. */
  setKeys(keys: readonly FakeKey[]): void;
  /** The keys accepted now. */
  keys(): readonly FakeKey[];
  close(): Promise<void>;
}

interface CloudDomains {
  readonly cloud: FakeCloud;
  readonly sts: string;
  readonly subdomain: string;
  readonly speech: string;
}

const CLOUDS: readonly CloudDomains[] = [
  {
    cloud: 'AzureCloud',
    sts: 'api.cognitive.microsoft.com',
    subdomain: 'cognitiveservices.azure.com',
    speech: 'speech.microsoft.com',
  },
  {
    cloud: 'AzureChinaCloud',
    sts: 'api.cognitive.azure.cn',
    subdomain: 'cognitiveservices.azure.cn',
    speech: 'speech.azure.cn',
  },
  {
    cloud: 'AzureUSGovernment',
    sts: 'api.cognitive.microsoft.us',
    subdomain: 'cognitiveservices.azure.us',
    speech: 'speech.azure.us',
  },
];

/** Which resource a host belongs to, as Azure's DNS and front door would see it. */
type Target =
  | { readonly kind: 'regional'; readonly cloud: FakeCloud; readonly region: string }
  | { readonly kind: 'subdomain'; readonly cloud: FakeCloud; readonly name: string }
  | { readonly kind: 'speech'; readonly cloud: FakeCloud; readonly region: string };

const [PUBLIC_CLOUD] = CLOUDS as [CloudDomains, ...CloudDomains[]];
const LOOPBACK_HOST = 'loopback';
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ISSUE_TOKEN = '/sts/v1.0/issueToken';

function labelBefore(host: string, domain: string): string | undefined {
  if (!host.endsWith(`.${domain}`)) return undefined;
  const label = host.slice(0, -domain.length - 1);
  return LABEL.test(label) ? label : undefined;
}

function targetOf(host: string): Target | undefined {
  if (host === LOOPBACK_HOST) return { kind: 'subdomain', cloud: 'AzureCloud', name: LOOPBACK_HOST };
  for (const { cloud, sts, subdomain, speech } of CLOUDS) {
    // The un-prefixed host is the STS of global (non-regional) Translator resources.
    if (host === sts) return { kind: 'regional', cloud, region: 'global' };
    const region = labelBefore(host, sts);
    if (region !== undefined) return { kind: 'regional', cloud, region };
    const name = labelBefore(host, subdomain);
    if (name !== undefined) return { kind: 'subdomain', cloud, name };
    const speechRegion = labelBefore(host, `stt.${speech}`) ?? labelBefore(host, `tts.${speech}`);
    if (speechRegion !== undefined) return { kind: 'speech', cloud, region: speechRegion };
  }
  return undefined;
}

const VOICES = [
  {
    Name: 'Microsoft Server Speech Text to Speech Voice (ja-JP, NanamiNeural)',
    DisplayName: 'Nanami',
    LocalName: '七海',
    ShortName: 'ja-JP-NanamiNeural',
    Gender: 'Female',
    Locale: 'ja-JP',
    LocaleName: 'Japanese (Japan)',
    StyleList: ['chat', 'customerservice', 'cheerful'],
    SampleRateHertz: '48000',
    VoiceType: 'Neural',
    Status: 'GA',
    WordsPerMinute: '319',
  },
  {
    Name: 'Microsoft Server Speech Text to Speech Voice (en-US, AvaNeural)',
    DisplayName: 'Ava',
    LocalName: 'Ava',
    ShortName: 'en-US-AvaNeural',
    Gender: 'Female',
    Locale: 'en-US',
    LocaleName: 'English (United States)',
    SampleRateHertz: '48000',
    VoiceType: 'Neural',
    Status: 'GA',
    WordsPerMinute: '143',
  },
];

/** The TTS avatar's ICE relay token, under a regional `tts` host (and `/tts` on a private-endpoint subdomain). */
const AVATAR_RELAY = '/cognitiveservices/avatar/relay/token/v1';

/** What the relay answers: TURN URLs and short-lived credentials (Azure Communication Services' relay). */
function relayCredentials(): { Urls: string[]; Username: string; Password: string } {
  return {
    Urls: ['turn:relay.communication.microsoft.com:3478'],
    Username: `BQAAA${randomBytes(24).toString('base64')}`,
    Password: randomBytes(20).toString('base64'),
  };
}

const STS_401 =
  '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}';
const STS_401_LEGACY =
  '{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}';
const NOT_FOUND = '{"error":{"code":"404","message":"Resource not found"}}';

interface Grant {
  readonly cloud: FakeCloud;
  readonly region?: string;
  readonly subdomain?: string;
  /** ms */
  readonly exp: number;
}

/**
 * Azure AI services as a client sees them: the STS `issueToken` of every region, cloud and custom
 * subdomain, the Speech voices list and the TTS avatar's ICE relay token (both taking the vended
 * token as bearer), routed by the host the client addressed.
 */
export async function startFakeCognitive(options: {
  keys: readonly FakeKey[];
  now?: () => number;
  /** Delay before every answer, in ms, as a distant service would have. Default 0. */
  latencyMs?: number;
  /**
   * Serve https with a self-signed certificate (`tls.ts`) that `fetch` does not trust, on the
   * fake's URL and for every Azure host it stands in for: a TLS-inspecting proxy as the app sees
   * it. Default false.
   */
  tls?: boolean;
}): Promise<FakeCognitive> {
  const now = options.now ?? Date.now;
  let keys: readonly FakeKey[] = [...options.keys];
  // A resource's DNS name outlives any one of its keys, so regenerated keys do not unresolve it.
  const knownSubdomains = new Set<string>();
  const privateEndpoints = new Set<string>([`AzureCloud/${LOOPBACK_HOST}`]);
  const remember = (list: readonly FakeKey[]) => {
    for (const k of list) {
      if (k.subdomain === undefined) continue;
      knownSubdomains.add(`${k.cloud}/${k.subdomain}`);
      if (k.privateEndpoint === true) privateEndpoints.add(`${k.cloud}/${k.subdomain}`);
    }
  };
  remember(keys);
  const scripts = new Map<string, { behaviour: Behaviour; remaining: number }>();
  const issued = new Map<string, Grant>();
  const accountIds = new Map<string, string>();

  const resolves = (target: Target) =>
    target.kind !== 'subdomain' ||
    target.name === LOOPBACK_HOST ||
    knownSubdomains.has(`${target.cloud}/${target.name}`);

  const keyIsValidAt = (k: FakeKey, target: Target) => {
    if (target.kind === 'subdomain')
      return k.subdomain === target.name && (target.name === LOOPBACK_HOST || k.cloud === target.cloud);
    return target.kind === 'regional' && k.cloud === target.cloud && k.region === target.region;
  };

  const grantIsValidAt = (grant: Grant, target: Target) => {
    if (target.kind === 'speech') return grant.cloud === target.cloud && grant.region === target.region;
    if (target.kind === 'subdomain')
      return grant.subdomain === target.name && (target.name === LOOPBACK_HOST || grant.cloud === target.cloud);
    return false;
  };

  const issueToken = (owner: FakeKey): string => {
    const seconds = Math.floor(now() / 1000);
    const exp = seconds + 600;
    const resource = `${owner.cloud}/${owner.region ?? ''}/${owner.subdomain ?? ''}`;
    let accountId = accountIds.get(resource);
    if (accountId === undefined) {
      accountId = randomBytes(16).toString('hex');
      accountIds.set(resource, accountId);
    }
    const domains = CLOUDS.find((c) => c.cloud === owner.cloud) ?? PUBLIC_CLOUD;
    const account = owner.subdomain ?? `fake-${owner.region ?? 'account'}`;
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    // Clients must treat the token as opaque: the signature is random bytes.
    const token = `${encode({ alg: 'ES256', kid: 'key1', typ: 'JWT' })}.${encode({
      region: owner.region ?? 'global',
      'subscription-id': accountId,
      'product-id': 'SpeechServices.S0',
      'cognitive-services-endpoint': `https://${domains.sts}/internal/v1.0/`,
      'azure-resource-id': `/subscriptions/${randomUUID()}/resourceGroups/rg-fake/providers/Microsoft.CognitiveServices/accounts/${account}`,
      scope: 'speechservices',
      aud: 'urn:ms.cognitiveservices',
      exp,
      iss: 'urn:ms.cognitiveservices',
    })}.${randomBytes(64).toString('base64url')}`;
    if (issued.size > 10_000) {
      for (const [t, g] of issued) if (g.exp <= now()) issued.delete(t);
    }
    issued.set(token, {
      cloud: owner.cloud,
      exp: exp * 1000,
      ...(owner.region !== undefined ? { region: owner.region } : {}),
      ...(owner.subdomain !== undefined ? { subdomain: owner.subdomain } : {}),
    });
    return token;
  };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'apim-request-id': randomUUID(),
      ...headers,
    });
    res.end(body);
  };

  let drips = 0;
  const drip = (res: ServerResponse, intervalMs: number, maxBytes: number) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=us-ascii', 'apim-request-id': randomUUID() });
    res.flushHeaders();
    drips++;
    let sent = 0;
    const timer = setInterval(() => {
      res.write('e');
      if (++sent >= maxBytes) res.destroy();
    }, intervalMs);
    res.once('close', () => {
      clearInterval(timer);
      drips--;
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const host = (req.headers['x-fake-original-host'] as string | undefined)?.toLowerCase() ?? LOOPBACK_HOST;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const key = req.headers['ocp-apim-subscription-key'] as string | undefined;
    const record = (status: number) => calls.push({ host, path, status, ...(key ? { keyLast4: key.slice(-4) } : {}) });
    const target = targetOf(host);
    if (target === undefined || !resolves(target)) {
      record(404);
      send(res, 404, NOT_FOUND);
      return;
    }

    const servesSpeech =
      target.kind === 'speech' ||
      (target.kind === 'subdomain' &&
        privateEndpoints.has(`${target.name === LOOPBACK_HOST ? 'AzureCloud' : target.cloud}/${target.name}`));
    const isVoicesList =
      req.method === 'GET' &&
      servesSpeech &&
      ((target.kind === 'speech' && path === '/cognitiveservices/voices/list') ||
        (target.kind === 'subdomain' && path === '/tts/cognitiveservices/voices/list'));
    const isAvatarRelay =
      req.method === 'GET' &&
      servesSpeech &&
      ((target.kind === 'speech' && path === AVATAR_RELAY) ||
        (target.kind === 'subdomain' && path === `/tts${AVATAR_RELAY}`));
    if (isVoicesList || isAvatarRelay) {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const grant = token === undefined ? undefined : issued.get(token);
      const ok = !fake.rejectTokens && grant !== undefined && grant.exp > now() && grantIsValidAt(grant, target);
      record(ok ? 200 : 401);
      if (!ok) send(res, 401, '');
      else if (isVoicesList) send(res, 200, JSON.stringify(VOICES));
      else send(res, 200, JSON.stringify(relayCredentials()));
      return;
    }

    if (req.method !== 'POST' || path !== ISSUE_TOKEN || target.kind === 'speech') {
      record(404);
      send(res, 404, NOT_FOUND);
      return;
    }
    // A host's own script first; once it has run out, the one for every host.
    const scripted = [scripts.get(host), scripts.get('*')].find((s) => s !== undefined && s.remaining > 0);
    if (scripted !== undefined) {
      scripted.remaining--;
      const { behaviour } = scripted;
      if ('hang' in behaviour) {
        record(0);
        return;
      }
      if ('drip' in behaviour) {
        record(200);
        drip(res, behaviour.drip.intervalMs, behaviour.drip.maxBytes ?? 2000);
        return;
      }
      record(behaviour.status);
      if ('body' in behaviour) {
        send(res, behaviour.status, behaviour.body, behaviour.headers);
        return;
      }
      if (behaviour.status === 429) {
        const after = behaviour.retryAfterSeconds;
        send(
          res,
          429,
          JSON.stringify({
            error: {
              code: '429',
              message:
                behaviour.message ??
                `Requests to the Issue Token Operation under Cognitive Services API have exceeded rate limit of your current tier. Please retry after ${after ?? 1} second${after === 1 ? '' : 's'}.`,
            },
          }),
          after === undefined ? {} : { 'Retry-After': String(after) },
        );
      } else if (behaviour.status === 403) {
        send(
          res,
          403,
          behaviour.kind === 'localAuthDisabled'
            ? '{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}'
            : '{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}',
        );
      } else {
        send(
          res,
          behaviour.status,
          JSON.stringify({
            error: {
              code: String(behaviour.status),
              message:
                behaviour.message ??
                (behaviour.status === 500
                  ? 'Internal server error.'
                  : 'The service is temporarily unavailable. Please try again later.'),
            },
          }),
        );
      }
      return;
    }
    const owner = key === undefined ? undefined : keys.find((k) => k.key === key && keyIsValidAt(k, target));
    if (owner === undefined) {
      record(401);
      send(res, 401, fake.legacy401Body ? STS_401_LEGACY : STS_401);
      return;
    }
    const token = issueToken(owner);
    record(200);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=us-ascii', 'apim-request-id': randomUUID() });
    res.end(token);
  };
  // With `tls`, a certificate no client trusts unless given it: a TLS-inspecting proxy's, as the app sees it.
  const server = options.tls === true ? createTlsServer(createSelfSignedCertificate(), handle) : createServer(handle);
  const port = await listenOnLoopback(server, options.latencyMs);
  const url = `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`;
  const calls: FakeCall[] = [];

  const fakeFetch = azureHostFetch({
    resolves: (host) => {
      const resource = targetOf(host);
      return resource !== undefined && resolves(resource);
    },
    forward: (pathAndQuery, init) => fetch(`${url}${pathAndQuery}`, init),
  });

  const fake: FakeCognitive = {
    url,
    fetch: fakeFetch,
    calls,
    connections: () => acceptedConnections(server),
    legacy401Body: false,
    rejectTokens: false,
    script(hostOrStar, behaviour) {
      scripts.set(hostOrStar.toLowerCase(), { behaviour, remaining: behaviour.times ?? Number.POSITIVE_INFINITY });
    },
    openDrips: () => drips,
    stsCalls: (host) => calls.filter((c) => c.path === ISSUE_TOKEN && (host === undefined || c.host === host)).length,
    resetCalls() {
      calls.length = 0;
    },
    setKeys(next) {
      keys = [...next];
      remember(keys);
    },
    keys: () => keys,
    close: () => closeServer(server),
  };
  return fake;
}
