import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { FakeCloud } from './cognitive.js';
import {
  answerRealtimeOffer,
  OfferRefused,
  type FakeRealtimeCall,
  type RealtimePeer,
  type RealtimeSession,
} from './realtimePeer.js';
import { acceptedConnections, azureHostFetch, closeServer, listenOnLoopback, readBody } from './server.js';
import { createSelfSignedCertificate, fetchOverTls, spkiPin } from './tls.js';

export type { FakeRealtimeCall } from './realtimePeer.js';

/** One Azure OpenAI / Foundry account (`Microsoft.CognitiveServices/accounts`, kind OpenAI or AIServices). */
export interface FakeOpenAIAccount {
  /** Its custom subdomain: `{name}.openai.azure.com`, `{name}.services.ai.azure.com`, `{name}.cognitiveservices.azure.com`. */
  readonly name: string;
  /** Default `AzureCloud`; `.us` hosts in AzureUSGovernment, `.cn` in AzureChinaCloud. */
  readonly cloud?: FakeCloud;
  /** Deployment name → the model deployed under it (`gpt-realtime`, `gpt-4o`, …). */
  readonly deployments: Readonly<Record<string, string>>;
  /** Its two keys; made up (84 characters, the newer format) unless given. */
  readonly keys?: readonly [string, string];
  /** `disableLocalAuth: true`: every key is refused with 403. Default false. */
  readonly localAuthDisabled?: boolean;
  /** Whether the app's identity holds "Cognitive Services OpenAI User" on the account. Default true. */
  readonly identityHasRole?: boolean;
}

export interface FakeAzureOpenAIOptions {
  readonly accounts: readonly FakeOpenAIAccount[];
  /**
   * The account answering at the fake's own URL (`url`), as the loopback endpoint of a resource, for
   * a browser or a host process that cannot route Azure host names. Default: the first account.
   */
  readonly loopbackAccount?: string;
  /** Clock for `expires_at` and key expiry, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Lifetime of an ephemeral key, in seconds. Default 60: Azure's pages give none, OpenAI's say one minute. */
  readonly keyLifetimeSeconds?: number;
  /**
   * `once` (default): a key starts one call, as a client that asks for a key per connection needs.
   * `untilExpiry`: any number of calls until it expires, as OpenAI's reference describes client secrets.
   */
  readonly keyUse?: 'once' | 'untilExpiry';
  /**
   * Whether a bearer token is one Entra issued for `audience` (`https://cognitiveservices.azure.com`,
   * `.us`, `.cn` by the account's cloud), e.g. one the managed-identity fake handed out for it.
   * Default: any non-empty token.
   */
  readonly acceptToken?: (token: string, audience: string) => boolean;
  /** Delay before every answer, in ms. Default 0. */
  readonly latencyMs?: number;
}

/** How the next mints fail. */
export type MintFault =
  /** `retryAfterSeconds` as a string is sent verbatim, as a misbehaving upstream might. Default 1. */
  | { readonly status: 429; readonly retryAfterSeconds?: number | string }
  | { readonly status: 500 | 502 | 503 | 504 }
  /** Accept the request and never answer it: for client timeouts. `close()` still ends it. */
  | { readonly hang: true }
  /** 200, `application/json`, and a body that is not JSON. */
  | { readonly garbage: true }
  /** Any answer, word for word. */
  | { readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>> };

/** One request to `client_secrets`, as the fake saw it. */
export interface FakeMint {
  readonly account: string;
  /** The host the client addressed (`loopback` for the fake's own URL). */
  readonly host: string;
  readonly auth: 'entra' | 'api-key' | 'none';
  /** The last four characters of the `api-key` sent, if any: enough to tell keys apart, never a key. */
  readonly keyLast4?: string;
  /** The request body, parsed when it is JSON, else the text. */
  readonly body: unknown;
  /** The query string as sent (`''` when none). */
  readonly query: string;
  /** 0 for a request left hanging. */
  readonly status: number;
  /** The ephemeral key it answered (200 only). */
  readonly value?: string;
}

export interface FakeAzureOpenAI {
  /** `https://127.0.0.1:PORT`: the endpoint of `loopbackAccount`. */
  readonly url: string;
  /** The self-signed certificate (the other TLS fakes' too): `ca`, or NODE_EXTRA_CA_CERTS in another process. */
  readonly certificatePem: string;
  /** The certificate's SPKI pin, for Chromium's `--ignore-certificate-errors-spki-list`. */
  readonly spkiPin: string;
  /**
   * A fetch that sends `https://{account}.openai.azure.com/…` (and the other host forms) to this
   * fake, trusting its certificate; loopback URLs pass through (this fake's own with its
   * certificate); any other host fails as DNS would.
   */
  readonly fetch: typeof fetch;
  /**
   * Whether a URL is this fake's to answer: an `/openai/` path at an account's host, or the fake's
   * own URL. A `{name}.cognitiveservices.azure.com` host also serves the STS (the cognitive fake),
   * so a test's fetch picks the fake by this.
   */
  handles(url: string | URL): boolean;
  readonly mints: FakeMint[];
  readonly calls: FakeRealtimeCall[];
  /**
   * The next `count` mints that pass authentication answer `fault`: at every account, or only at
   * the one named (a region at capacity while another serves).
   */
  failMints(count: number, fault: MintFault, account?: string): void;
  /** Grants or revokes the identity's "Cognitive Services OpenAI User" role on an account. */
  setIdentityRole(account: string, granted: boolean): void;
  /** Turns key authentication of an account off (`disableLocalAuth: true`) or on. */
  setLocalAuthDisabled(account: string, disabled: boolean): void;
  /** An account's two keys. */
  keys(account: string): readonly [string, string];
  /** Forgets mints and calls (ending the calls' peers) and scripted faults. */
  reset(): Promise<void>;
  connections(): number;
  /** Ends every call's peer, then the server. */
  close(): Promise<void>;
}

interface Account {
  readonly name: string;
  readonly cloud: FakeCloud;
  readonly deployments: Readonly<Record<string, string>>;
  readonly keys: readonly [string, string];
  localAuthDisabled: boolean;
  identityHasRole: boolean;
}

interface EphemeralKey {
  readonly account: string;
  readonly session: RealtimeSession;
  /** ms */
  readonly expiresAt: number;
  used: boolean;
}

const CLOUD_SUFFIX: Readonly<Record<FakeCloud, string>> = {
  AzureCloud: 'com',
  AzureUSGovernment: 'us',
  AzureChinaCloud: 'cn',
};
/** The data-plane token audience per cloud (scope `{audience}/.default`). */
const AUDIENCE: Readonly<Record<FakeCloud, string>> = {
  AzureCloud: 'https://cognitiveservices.azure.com',
  AzureUSGovernment: 'https://cognitiveservices.azure.us',
  AzureChinaCloud: 'https://cognitiveservices.azure.cn',
};
const HOST_FORMS = ['openai', 'services.ai', 'cognitiveservices'] as const;
const LOOPBACK_HOST = 'loopback';
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MINT_PATH = '/openai/v1/realtime/client_secrets';
const CALLS_PATH = '/openai/v1/realtime/calls';

/** `{name}.{form}.azure.{com|us|cn}` → the account's name and cloud. */
function accountOfHost(host: string): { name: string; cloud: FakeCloud } | undefined {
  for (const [cloud, suffix] of Object.entries(CLOUD_SUFFIX) as [FakeCloud, string][]) {
    for (const form of HOST_FORMS) {
      const domain = `.${form}.azure.${suffix}`;
      if (!host.endsWith(domain)) continue;
      const name = host.slice(0, -domain.length);
      if (LABEL.test(name)) return { name, cloud };
    }
  }
  return undefined;
}

/** Realtime models are named so: gpt-realtime, gpt-realtime-mini, gpt-4o(-mini)-realtime-preview. */
const isRealtimeModel = (model: string) => /(^|-)realtime(-|$)/.test(model);

/** The session `client_secrets` answers: the request's, over the service's defaults. */
function effectiveSession(requested: Record<string, unknown>, deployment: string): RealtimeSession {
  const audio = (requested.audio ?? {}) as { input?: Record<string, unknown>; output?: Record<string, unknown> };
  return {
    object: 'realtime.session',
    id: `sess_${randomBytes(12).toString('hex')}`,
    output_modalities: ['audio'],
    instructions: '',
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    tracing: null,
    prompt: null,
    expires_at: 0,
    include: null,
    ...requested,
    type: 'realtime',
    model: deployment,
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24_000 },
        transcription: null,
        noise_reduction: null,
        turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200 },
        ...audio.input,
      },
      output: { format: { type: 'audio/pcm', rate: 24_000 }, voice: 'alloy', speed: 1, ...audio.output },
    },
  };
}

/** An error in the v1 surface's OpenAI shape (validation of the body). */
const invalidRequest = (message: string, param: string | null, code: string) => ({
  error: { message, type: 'invalid_request_error', param, code },
});

/**
 * Azure OpenAI's GA v1 realtime surface over TLS, as far as a token vending service and a browser
 * use it: `POST /openai/v1/realtime/client_secrets` mints one-minute ephemeral keys (Entra bearer
 * token for the cognitiveservices audience with the data role, or `api-key`), and
 * `POST /openai/v1/realtime/calls?webrtcfilter=on` takes a browser's SDP offer with such a key and
 * answers it from a real WebRTC peer (./realtimePeer.ts). Accounts answer at their three host forms
 * through `fetch`, and `loopbackAccount` at `url`.
 *
 * What is documented and what is assumed is in docs/realtime.md; sources: "Use the GPT Realtime API
 * via WebRTC" (Azure OpenAI, GA) and errors seen in the field (issue 19).
 */
export async function startFakeAzureOpenAI(options: FakeAzureOpenAIOptions): Promise<FakeAzureOpenAI> {
  const now = options.now ?? Date.now;
  const lifetimeSeconds = options.keyLifetimeSeconds ?? 60;
  const { cert, key } = createSelfSignedCertificate();
  const accounts = new Map<string, Account>();
  for (const given of options.accounts) {
    const made = (): string => randomBytes(63).toString('base64').replace(/[+/]/g, 'x');
    accounts.set(`${given.cloud ?? 'AzureCloud'}/${given.name}`, {
      name: given.name,
      cloud: given.cloud ?? 'AzureCloud',
      deployments: given.deployments,
      keys: given.keys ?? [made(), made()],
      localAuthDisabled: given.localAuthDisabled ?? false,
      identityHasRole: given.identityHasRole ?? true,
    });
  }
  const accountNamed = (name: string): Account => {
    const found = [...accounts.values()].find((a) => a.name === name);
    if (found === undefined) throw new Error(`the Azure OpenAI fake has no account ${name}`);
    return found;
  };
  const loopback = accountNamed(options.loopbackAccount ?? options.accounts[0]?.name ?? '(none given)');

  const ephemeralKeys = new Map<string, EphemeralKey>();
  const mints: FakeMint[] = [];
  const calls: FakeRealtimeCall[] = [];
  const peers = new Set<RealtimePeer>();
  let faults: { count: number; fault: MintFault; account?: string | undefined } = { count: 0, fault: { hang: true } };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'apim-request-id': randomUUID(),
      'x-request-id': randomUUID(),
      ...headers,
    });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const azureError = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message } });

  /** How the request authenticates: an `api-key` wins over a bearer token, as it is checked first. */
  const authMode = (req: IncomingMessage): FakeMint['auth'] => {
    const apiKey = req.headers['api-key'];
    if (typeof apiKey === 'string' && apiKey !== '') return 'api-key';
    return req.headers.authorization === undefined ? 'none' : 'entra';
  };

  /** Answers Azure's refusal and returns false, or returns true for a caller the account lets in. */
  const authenticate = (req: IncomingMessage, res: ServerResponse, account: Account): boolean => {
    const apiKey = req.headers['api-key'];
    if (authMode(req) === 'api-key') {
      if (account.localAuthDisabled) {
        azureError(res, 403, 'AuthenticationTypeDisabled', 'Key based authentication is disabled for this resource.');
        return false;
      }
      if (typeof apiKey !== 'string' || !account.keys.includes(apiKey)) {
        azureError(
          res,
          401,
          '401',
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
        );
        return false;
      }
      return true;
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const audience = AUDIENCE[account.cloud];
    const accepted = token !== undefined && (options.acceptToken?.(token, audience) ?? true);
    if (!accepted) {
      send(res, 401, {
        statusCode: 401,
        message: `Unauthorized. Access token is missing, invalid, audience is incorrect (${audience}), or have expired.`,
      });
      return false;
    }
    if (!account.identityHasRole) {
      azureError(res, 401, 'PermissionDenied', 'Principal does not have access to API/Operation.');
      return false;
    }
    return true;
  };

  const answerFault = (res: ServerResponse, fault: MintFault): number => {
    if ('hang' in fault) return 0;
    if ('garbage' in fault) {
      send(res, 200, '{"value":"ek_');
      return 200;
    }
    if ('body' in fault) {
      send(res, fault.status, fault.body, { ...fault.headers });
      return fault.status;
    }
    if (fault.status === 429) {
      const after = String(fault.retryAfterSeconds ?? 1);
      send(
        res,
        429,
        {
          error: {
            code: '429',
            message: `Requests to the Realtime client secrets operation have exceeded the rate limit of your deployment. Please retry after ${after} seconds.`,
          },
        },
        { 'Retry-After': after },
      );
      return 429;
    }
    const codes = { 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };
    azureError(
      res,
      fault.status,
      codes[fault.status],
      'The service is temporarily unable to process your request. Please try again later.',
    );
    return fault.status;
  };

  const mint = async (req: IncomingMessage, res: ServerResponse, account: Account, host: string, query: string) => {
    const text = await readBody(req, 1 << 20);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // recorded as text, refused below
    }
    const apiKey = req.headers['api-key'];
    const auth = authMode(req);
    const record = (status: number, value?: string) =>
      mints.push({
        account: account.name,
        host,
        auth,
        ...(typeof apiKey === 'string' && apiKey !== '' ? { keyLast4: apiKey.slice(-4) } : {}),
        body,
        query,
        status,
        ...(value === undefined ? {} : { value }),
      });
    if (new URLSearchParams(query).has('api-version')) {
      // The v1 surface takes no api-version; Azure answers one with 401 (issue 19). The body is assumed.
      azureError(res, 401, '401', 'The v1 API does not take an api-version query parameter: remove it.');
      record(401);
      return;
    }
    if (!authenticate(req, res, account)) {
      record(res.statusCode);
      return;
    }
    if (faults.count > 0 && (faults.account === undefined || faults.account === account.name)) {
      faults.count--;
      record(answerFault(res, faults.fault));
      return;
    }
    const refuse = (status: number, payload: unknown) => {
      send(res, status, payload);
      record(status);
    };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      refuse(400, invalidRequest('The request body is not a JSON object.', null, 'invalid_json'));
      return;
    }
    const session = (body as { session?: unknown }).session;
    if (typeof session !== 'object' || session === null || Array.isArray(session)) {
      refuse(400, invalidRequest("Missing required parameter: 'session'.", 'session', 'missing_required_parameter'));
      return;
    }
    const { type, model } = session as { type?: unknown; model?: unknown };
    if (type !== 'realtime') {
      refuse(
        400,
        invalidRequest(
          `Invalid value: ${JSON.stringify(type ?? null)}. Supported values are: 'realtime'.`,
          'session.type',
          'invalid_value',
        ),
      );
      return;
    }
    if (typeof model !== 'string' || model === '') {
      refuse(
        400,
        invalidRequest("Missing required parameter: 'session.model'.", 'session.model', 'missing_required_parameter'),
      );
      return;
    }
    const deployed = account.deployments[model];
    if (deployed === undefined) {
      refuse(404, {
        error: {
          code: 'DeploymentNotFound',
          message:
            'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
        },
      });
      return;
    }
    if (!isRealtimeModel(deployed)) {
      refuse(400, {
        error: {
          code: 'OpperationNotSupported',
          message: `The realtime operation does not work with the specified model, ${deployed}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.`,
        },
      });
      return;
    }
    const value = `ek_${randomBytes(16).toString('hex')}`;
    const expiresAt = Math.floor(now() / 1000) + lifetimeSeconds;
    const effective = effectiveSession(session as Record<string, unknown>, model);
    if (ephemeralKeys.size > 10_000) {
      // A long sandbox session mints for ever; expired keys are only ever refused.
      for (const [old, granted] of ephemeralKeys) if (granted.expiresAt <= now()) ephemeralKeys.delete(old);
    }
    ephemeralKeys.set(value, { account: account.name, session: effective, expiresAt: expiresAt * 1000, used: false });
    send(res, 200, { value, expires_at: expiresAt, session: effective });
    record(200, value);
  };

  const cors = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    return origin === undefined
      ? {}
      : { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'Location', Vary: 'Origin' };
  };

  const call = async (req: IncomingMessage, res: ServerResponse, account: Account, query: string) => {
    const offer = await readBody(req, 1 << 20);
    const refuse = (status: number, message: string) =>
      send(res, status, { error: { code: String(status), message } }, cors(req));
    const params = new URLSearchParams(query);
    if (params.has('api-version')) {
      refuse(401, 'The v1 API does not take an api-version query parameter: remove it.');
      return;
    }
    const value = /^Bearer (ek_\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const granted = value === undefined ? undefined : ephemeralKeys.get(value);
    if (granted?.account !== account.name) {
      refuse(401, 'Unauthorized: the Authorization header must carry an ephemeral key minted for this resource.');
      return;
    }
    if (granted.expiresAt <= now()) {
      refuse(401, 'Unauthorized: the ephemeral key has expired; mint a new one.');
      return;
    }
    if (granted.used && options.keyUse !== 'untilExpiry') {
      refuse(401, 'Unauthorized: the ephemeral key has already started a call; mint a new one for each connection.');
      return;
    }
    if (!/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) {
      refuse(400, 'The SDP offer must be sent with Content-Type: application/sdp.');
      return;
    }
    const record: FakeRealtimeCall = {
      id: `rtc_${randomBytes(12).toString('hex')}`,
      account: account.name,
      model: granted.session.model,
      webrtcFilter: params.get('webrtcfilter') === 'on',
      connectionState: 'new',
      dataChannels: [],
      audioPackets: 0,
      eventsReceived: [],
      eventsSent: [],
    };
    let peer: RealtimePeer;
    try {
      peer = await answerRealtimeOffer(offer, granted.session, record);
    } catch (error) {
      if (!(error instanceof OfferRefused)) throw error;
      refuse(400, error.message);
      return;
    }
    granted.used = true;
    peers.add(peer);
    calls.push(record);
    res.writeHead(201, {
      'Content-Type': 'application/sdp',
      Location: `${CALLS_PATH}/${record.id}`,
      ...cors(req),
    });
    res.end(peer.answer);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const addressed = (req.headers['x-fake-original-host'] as string | undefined)?.toLowerCase();
    const site = addressed === undefined ? undefined : accountOfHost(addressed);
    const account = addressed === undefined ? loopback : site && accounts.get(`${site.cloud}/${site.name}`);
    const url = new URL(req.url ?? '/', 'https://fake');
    const query = url.search.slice(1);
    if (account === undefined) {
      req.resume();
      azureError(res, 404, '404', 'Resource not found');
      return;
    }
    if (url.pathname === MINT_PATH && req.method === 'POST') {
      await mint(req, res, account, addressed ?? LOOPBACK_HOST, query);
      return;
    }
    if (url.pathname === CALLS_PATH && req.method === 'OPTIONS') {
      req.resume();
      res.writeHead(204, {
        ...cors(req),
        'Access-Control-Allow-Methods': 'POST',
        'Access-Control-Allow-Headers': 'authorization, content-type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (url.pathname === CALLS_PATH && req.method === 'POST') {
      await call(req, res, account, query);
      return;
    }
    req.resume();
    azureError(res, 404, '404', 'Resource not found');
  };

  const server = createServer({ cert, key }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) azureError(res, 500, 'InternalServerError', 'The fake Azure OpenAI failed.');
      else res.end();
    });
  });
  const port = await listenOnLoopback(server, options.latencyMs);
  const url = `https://127.0.0.1:${port}`;

  const resolves = (host: string) => {
    const site = accountOfHost(host);
    return site !== undefined && accounts.has(`${site.cloud}/${site.name}`);
  };
  const fakeFetch = azureHostFetch({
    resolves,
    forward: (pathAndQuery, init) =>
      fetchOverTls(new Request(`${url}${pathAndQuery}`, init), cert, init.signal ?? undefined),
    loopback: (request, signal) =>
      new URL(request.url).origin === url ? fetchOverTls(request, cert, signal ?? undefined) : fetch(request),
  });

  const endCalls = async () => {
    const ending = [...peers];
    peers.clear();
    await Promise.all(ending.map((peer) => peer.close()));
  };

  return {
    url,
    certificatePem: cert,
    spkiPin: spkiPin(cert),
    fetch: fakeFetch,
    handles(target) {
      const parsed = new URL(target);
      if (parsed.origin === url) return true;
      return parsed.protocol === 'https:' && resolves(parsed.hostname) && parsed.pathname.startsWith('/openai/');
    },
    mints,
    calls,
    failMints(count, fault, account) {
      faults = { count, fault, account };
    },
    setIdentityRole(name, granted) {
      accountNamed(name).identityHasRole = granted;
    },
    setLocalAuthDisabled(name, disabled) {
      accountNamed(name).localAuthDisabled = disabled;
    },
    keys: (name) => accountNamed(name).keys,
    async reset() {
      mints.length = 0;
      calls.length = 0;
      faults = { count: 0, fault: { hang: true } };
      await endCalls();
    },
    connections: () => acceptedConnections(server),
    async close() {
      await endCalls();
      await closeServer(server);
    },
  };
}
