// The demo page, built with Vite like any frontend app, on the client package as apps install it.
import { createSpeechConfig, createTokenProvider } from '@ai-token-vending/client';

const $ = (id) => document.getElementById(id);
const config = await loadConfig();
let callerToken;
let provider;
let current;
let fetches = 0;

$('resource-name').textContent = config.resource;
$('mode').textContent =
  config.mode === 'sandbox'
    ? 'Sandbox: sign-in is pretend (a token from the local fake Entra ID); every upstream is a local fake.'
    : `Azure: signing in with Microsoft Entra ID; API ${config.apiBaseUrl}.`;
if (config.mode !== 'sandbox') $('without-role-label').hidden = true;

$('sign-in').addEventListener('click', async () => {
  try {
    const signedIn = config.mode === 'sandbox' ? await sandboxSignIn() : await msalSignIn();
    callerToken = signedIn.accessToken;
    $('user').textContent = `Signed in as ${signedIn.name}.`;
    provider = createTokenProvider({
      baseUrl: config.apiBaseUrl,
      resource: config.resource,
      getAccessToken: getCallerToken,
    });
    provider.subscribe(() => {
      fetches += 1;
    });
    $('get-token').disabled = false;
    say('', true);
  } catch (error) {
    say(`Sign-in failed: ${error.message}`);
  }
});

$('get-token').addEventListener('click', () => show(provider.getToken()));
$('refresh').addEventListener('click', () => show(provider.getToken({ forceRefresh: true })));
$('speak').addEventListener('click', speak);
setInterval(tick, 250);

async function show(pending) {
  try {
    current = await pending;
    $('token').hidden = false;
    $('resource').textContent = current.resource;
    $('region').textContent = current.region ?? `custom subdomain (${current.endpoints.base})`;
    $('expires-on').textContent = `(${current.expiresOn.toLocaleTimeString()})`;
    $('token-preview').textContent = `${current.accessToken.slice(0, 16)}…`;
    $('fetches').textContent = String(fetches);
    $('refresh').disabled = false;
    $('speech-section').hidden = !(config.mode !== 'sandbox' && config.speechSdkUrl && current.kind === 'speech');
    tick();
    say('Token received.', true);
  } catch (error) {
    current = undefined;
    $('token').hidden = true;
    $('refresh').disabled = true;
    say(
      error.code === 'forbidden'
        ? `Signed in, but not allowed: ${error.detail}`
        : `${error.detail ?? error.message} (${error.code ?? 'error'}${error.correlationId ? `, correlation id ${error.correlationId}` : ''})`,
    );
  }
}

function tick() {
  if (!current) return;
  const left = Math.max(0, Math.round((current.expiresOn.getTime() - Date.now()) / 1000));
  $('countdown').textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
}

function say(text, ok = false) {
  $('message').textContent = text;
  $('message').className = ok ? 'ok' : '';
}

async function getCallerToken({ forceRefresh }) {
  if (forceRefresh && config.mode !== 'sandbox') callerToken = (await msalSignIn(true)).accessToken;
  return callerToken;
}

async function loadConfig() {
  // The sandbox serves its own config; deployed, put a config.json beside this page (see docs/clients.md).
  for (const path of ['/sandbox/config.json', '/config.json']) {
    const response = await fetch(path).catch(() => undefined);
    if (response?.ok) return response.json();
  }
  throw new Error('No config.json: see docs/clients.md, "Demo page against Azure".');
}

async function sandboxSignIn() {
  const response = await fetch('/sandbox/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ withRole: !$('without-role').checked }),
  });
  if (!response.ok) throw new Error(`sandbox sign-in answered ${response.status}`);
  return response.json();
}

let msal;
async function msalSignIn(silentOnly = false) {
  if (!msal) {
    const { PublicClientApplication } = await import(/* @vite-ignore */ config.msalBrowserUrl);
    msal = new PublicClientApplication({
      auth: { clientId: config.msal.clientId, authority: config.msal.authority, redirectUri: location.origin },
    });
    await msal.initialize();
  }
  const request = { scopes: config.msal.scopes };
  const account = msal.getAllAccounts()[0];
  const result = account
    ? await msal.acquireTokenSilent({ ...request, account, forceRefresh: silentOnly })
    : await msal.loginPopup(request).then((login) => msal.acquireTokenSilent({ ...request, account: login.account }));
  return { accessToken: result.accessToken, name: result.account.name ?? result.account.username };
}

async function speak() {
  try {
    const sdk = await loadSpeechSdk();
    const speechConfig = createSpeechConfig(sdk, current, { service: 'tts' });
    const synthesizer = new sdk.SpeechSynthesizer(speechConfig, sdk.AudioConfig.fromDefaultSpeakerOutput());
    synthesizer.speakTextAsync(
      'Hello! This sentence was spoken with a token vended without shipping a key.',
      () => synthesizer.close(),
      (error) => {
        say(`Speech failed: ${error}`);
        synthesizer.close();
      },
    );
  } catch (error) {
    say(`Speech failed: ${error.message}`);
  }
}

function loadSpeechSdk() {
  if (window.SpeechSDK) return Promise.resolve(window.SpeechSDK);
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = config.speechSdkUrl;
    script.onload = () => resolve(window.SpeechSDK);
    script.onerror = () => reject(new Error(`could not load the Speech SDK from ${config.speechSdkUrl}`));
    document.head.append(script);
  });
}
