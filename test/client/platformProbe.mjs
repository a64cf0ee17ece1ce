// Runs the built client package in a node:vm context whose only globals beyond the language's own
// are fetch, AbortController, setTimeout, clearTimeout and URL: what React Native provides. A
// reach for anything else (process, Buffer, window, TextEncoder, queueMicrotask, console, …) is a
// ReferenceError here. Run as `node --experimental-vm-modules platformProbe.mjs <dist dir>`;
// prints one JSON line with what each scenario saw.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import vm from 'node:vm';

const dist = resolve(process.argv[2] ?? '');
const calls = [];
/** The scripted API: each request takes the next answer; a 'hang' answer waits for the abort. */
const answers = [];
function fetch(url, init) {
  calls.push({ url, authorization: init.headers.Authorization });
  const answer = answers.shift();
  if (answer === undefined) return Promise.reject(new Error(`unexpected request to ${url}`));
  if (answer === 'hang') {
    return new Promise((_, reject) =>
      init.signal.addEventListener('abort', () => reject(new Error('aborted by signal'))),
    );
  }
  return Promise.resolve(
    new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers ?? {} }),
  );
}

const context = vm.createContext({ fetch, AbortController, setTimeout, clearTimeout, URL });
// V8 gives every context these two, though neither is ECMAScript nor in React Native's contract.
vm.runInContext('delete globalThis.console; delete globalThis.WebAssembly;', context);

const modules = new Map();
async function load(file) {
  let module = modules.get(file);
  if (module === undefined) {
    module = new vm.SourceTextModule(await readFile(file, 'utf8'), { identifier: file, context });
    modules.set(file, module);
  }
  return module;
}
const entry = await load(join(dist, 'index.js'));
await entry.link((specifier, referencing) => {
  if (!specifier.startsWith('./'))
    throw new Error(`the package imports "${specifier}": it must import nothing but its own files`);
  return load(join(dirname(referencing.identifier), specifier));
});
await entry.evaluate();
const client = entry.namespace;

const body = (id, extra = {}) => ({
  accessToken: `ai-token-${id}`,
  tokenType: 'Bearer',
  expiresOn: new Date(Date.now() + 600_000).toISOString(),
  expiresInSeconds: 600,
  resource: 'speech',
  kind: 'speech',
  cloud: 'AzureCloud',
  region: 'westeurope',
  endpoints: {
    stt: 'wss://speech-x.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1',
  },
  ...extra,
});
const forced = [];
const options = {
  baseUrl: 'https://func.example/api',
  resource: 'speech',
  getAccessToken: ({ forceRefresh }) => {
    forced.push(forceRefresh);
    return `entra-${forced.length}`;
  },
  baseDelayMs: 1,
};
const codeOf = (promise) =>
  promise.then(
    () => 'resolved',
    (error) => `${error.name}:${error.code}`,
  );
const seen = {};

// Default fetch, retry on 503 with an HTTP-date Retry-After, then the cache.
answers.push(
  {
    status: 503,
    body: { code: 'sts_unavailable', detail: 'down' },
    headers: { 'retry-after': new Date(Date.now() - 1000).toUTCString() },
  },
  { status: 200, body: body('a') },
);
const provider = client.createTokenProvider(options);
const tokens = [];
provider.subscribe((event) => {
  if (event.type === 'token') tokens.push(event.token.accessToken);
});
seen.first = (await provider.getToken()).accessToken;
seen.cached = (await provider.getToken()).accessToken;
seen.requests = calls.length;
seen.url = calls[0]?.url;
seen.subscribed = tokens;

// 401: a forced Entra refresh, then success.
answers.push({ status: 401, body: { code: 'invalid_token', detail: 'expired' } }, { status: 200, body: body('b') });
seen.afterReauth = (await provider.getToken({ forceRefresh: true })).accessToken;
seen.forced = [...forced];

// The caller's abort, an attempt timeout, a problem body.
answers.push('hang');
const stopping = new AbortController();
const aborted = codeOf(provider.getToken({ forceRefresh: true, signal: stopping.signal }));
setTimeout(() => stopping.abort(), 5);
seen.abort = await aborted;
answers.push('hang');
seen.timeout = await codeOf(client.createTokenProvider({ ...options, attemptTimeoutMs: 5, maxAttempts: 1 }).getToken());
answers.push({ status: 403, body: { code: 'forbidden', detail: 'needs Speech.Token', correlationId: 'c-1' } });
seen.forbidden = await codeOf(client.createTokenProvider(options).getToken());

// Speech helpers: URL for a custom subdomain, timers for keepFresh.
const sdk = {
  SpeechConfig: {
    fromAuthorizationToken: (token, region) => ({ authorizationToken: token, made: `region ${region}` }),
    fromEndpoint: (url) => ({ authorizationToken: '', made: `endpoint ${url.href}` }),
  },
};
const custom = client.parseVendedToken(body('c', { region: null }));
const config = client.createSpeechConfig(sdk, custom);
seen.speechConfig = { made: config.made, authorizationToken: config.authorizationToken };
answers.push({ status: 200, body: body('d') });
const recognizer = { authorizationToken: 'old' };
const stop = client.keepFresh(provider, recognizer, { checkEveryMs: 1 });
await new Promise((done) => setTimeout(done, 20));
stop();
seen.keepFresh = recognizer.authorizationToken;

process.stdout.write(`${JSON.stringify(seen)}\n`);
