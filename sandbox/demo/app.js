// The demo page, built with Vite like any frontend app, on the client package as apps install it.
// In Azure mode MSAL.js comes from npm too (@azure/msal-browser), in a chunk of its own that the
// sandbox mode never loads.
import { connectRealtime, createSpeechConfig, createTokenProvider } from '@ai-token-vending/client';

const $ = (id) => document.getElementById(id);
const config = await loadConfig();
let session; // { name, accessToken } while signed in
let provider;
let unsubscribe;
let current;
let fetches = 0;
let pending = false;
let throttledUntil = 0;
let call; // the realtime connection while talking

$('resource-name').textContent = config.resource;
$('mode').textContent =
  config.mode === 'sandbox'
    ? 'Sandbox: sign-in is pretend (a token from the local fake Entra ID); every upstream is a local fake.'
    : `Azure: signing in with Microsoft Entra ID; API ${config.apiBaseUrl}.`;
if (config.mode !== 'sandbox') $('without-role-label').hidden = true;

$('sign-in').addEventListener('click', signIn);
$('sign-out').addEventListener('click', signOut);
$('get-token').addEventListener('click', () => show({}));
$('refresh').addEventListener('click', () => show({ forceRefresh: true }));
$('speak').addEventListener('click', speak);
$('talk').addEventListener('click', talk);
$('hang-up').addEventListener('click', hangUp);
if (config.realtime) $('talk-resource').textContent = config.realtime.resource;
setInterval(tick, 250);

async function signIn() {
  try {
    session = config.mode === 'sandbox' ? await sandboxSignIn() : await azure.signIn();
    $('user').textContent = `Signed in as ${session.name}.`;
    if (!provider) {
      provider = createTokenProvider({
        baseUrl: config.apiBaseUrl,
        resource: config.resource,
        getAccessToken: ({ forceRefresh }) =>
          config.mode === 'sandbox' ? session.accessToken : azure.apiToken(forceRefresh),
      });
      unsubscribe = provider.subscribe(onEvent);
    }
    say('', true);
  } catch (error) {
    say(`Sign-in failed: ${error.errorCode ?? error.name}: ${error.message}`);
  }
  render();
}

async function signOut() {
  hangUp();
  // Forget the vended token first: nothing of the old account may be handed out after this.
  unsubscribe?.();
  provider?.invalidate();
  provider = undefined;
  current = undefined;
  session = undefined;
  fetches = 0;
  throttledUntil = 0;
  $('activity').replaceChildren();
  $('user').textContent = 'Not signed in.';
  if (config.mode !== 'sandbox') await azure.signOut().catch((error) => say(`Sign-out: ${error.message}`));
  else say('Signed out.', true);
  render();
}

async function show(options) {
  pending = true;
  render();
  try {
    current = await provider.getToken(options);
    $('resource').textContent = current.resource;
    $('region').textContent = current.region ?? `custom subdomain (${current.endpoints.base})`;
    $('expires-on').textContent = `(${current.expiresOn.toLocaleTimeString()})`;
    $('token-preview').textContent = `${current.accessToken.slice(0, 16)}…`;
    $('fetches').textContent = String(fetches);
    tick();
    say('Token received.', true);
  } catch (error) {
    current = undefined;
    say(explain(error));
  } finally {
    pending = false;
    render();
  }
}

function explain(error) {
  const reference = `(${error.code ?? 'error'}${error.correlationId ? `, correlation id ${error.correlationId}` : ''})`;
  if (error.code === 'forbidden') return `Signed in, but not allowed: ${error.detail}`;
  if (error.code === 'access_token_unavailable' && azure.needsUser(error.cause))
    return 'Your sign-in needs you again (consent, MFA or an expired session): click Sign in.';
  if (error.retryAfterSeconds !== undefined && (error.status === 429 || error.code?.endsWith('_throttled')))
    return `Throttled: ${error.detail} Try again in ${error.retryAfterSeconds} s ${reference}`;
  return `${error.detail ?? error.message} ${reference}`;
}

/** The client's own account of what it does: retries, throttling, errors, expiry. */
function onEvent(event) {
  switch (event.type) {
    case 'token':
      fetches += 1;
      return log(`New token, valid until ${event.token.expiresOn.toLocaleTimeString()}.`);
    case 'retrying':
      return log(
        `Attempt ${event.attempt} of ${event.maxAttempts} failed (${event.error.code}); retrying in ${seconds(event.delaySeconds)}.`,
        'warn',
      );
    case 'throttled':
      if (!event.willRetry && event.retryAfterSeconds !== undefined)
        throttledUntil = Date.now() + event.retryAfterSeconds * 1000;
      return log(
        `Throttled (${event.error.code})${event.retryAfterSeconds === undefined ? '' : `: the API asks to wait ${seconds(event.retryAfterSeconds)}`}${event.willRetry ? '.' : '; not retrying.'}`,
        'warn',
      );
    case 'error':
      return log(`Failed: ${event.error.code}.`, 'bad');
    case 'expired':
      current = undefined;
      say('The token expired: get a new one.');
      render();
      return log('The token expired unused.', 'bad');
  }
}

function render() {
  const signedIn = session !== undefined;
  const waitSeconds = Math.ceil((throttledUntil - Date.now()) / 1000);
  $('sign-in').hidden = signedIn;
  $('without-role').disabled = signedIn;
  $('sign-out').hidden = !signedIn;
  $('pending').hidden = !pending;
  $('token-section').setAttribute('aria-busy', String(pending));
  $('get-token').disabled = !signedIn || pending || waitSeconds > 0;
  $('get-token').textContent = waitSeconds > 0 ? `Get token (wait ${waitSeconds} s)` : 'Get token';
  $('refresh').disabled = !current || pending || waitSeconds > 0;
  $('token').hidden = !current;
  $('talk-section').hidden = !(signedIn && config.realtime);
  $('talk').hidden = call !== undefined;
  $('hang-up').hidden = call === undefined;
  $('speech-section').hidden = !(
    current &&
    config.mode !== 'sandbox' &&
    config.speechSdkUrl &&
    current.kind === 'speech'
  );
}

function tick() {
  if (throttledUntil > 0) render();
  if (!current) return;
  const left = Math.max(0, Math.round((current.expiresOn.getTime() - Date.now()) / 1000));
  $('countdown').textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
}

function say(text, ok = false) {
  $('message').textContent = text;
  $('message').className = ok ? 'ok' : '';
}

function log(text, tone = '') {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  item.className = tone;
  $('activity').append(item);
}

function seconds(value) {
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} s`;
}

async function loadConfig() {
  // The sandbox serves its own config; deployed, put a config.json beside this page (see docs/clients.md).
  for (const path of ['/sandbox/config.json', '/config.json']) {
    const response = await fetch(path).catch(() => undefined);
    if (response?.ok) return response.json();
  }
  throw new Error('No config.json: see docs/clients.md, "The demo page against Azure".');
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

/** MSAL.js, from npm, loaded on first use (the sandbox never needs it). */
const azure = {
  msal: undefined,
  library: undefined,
  async load() {
    if (!this.msal) {
      this.library = await import('@azure/msal-browser');
      this.msal = new this.library.PublicClientApplication({
        auth: { clientId: config.msal.clientId, authority: config.msal.authority, redirectUri: location.origin },
      });
      await this.msal.initialize();
    }
    return this.msal;
  },
  account() {
    return this.msal.getActiveAccount() ?? this.msal.getAllAccounts()[0];
  },
  /** A click's work: the popup opens only from a user gesture. */
  async signIn() {
    const msal = await this.load();
    let account = this.account();
    if (account) {
      // Signed in before, but MSAL needed the user (InteractionRequiredAuthError): ask in a popup.
      await msal.acquireTokenPopup({ scopes: config.msal.scopes, account });
    } else {
      account = (await msal.loginPopup({ scopes: config.msal.scopes })).account;
    }
    msal.setActiveAccount(account);
    return { name: account.name ?? account.username };
  },
  /**
   * The caller's token for the API, silently. When MSAL needs the user it throws
   * InteractionRequiredAuthError: the client reports it as access_token_unavailable with that
   * error as the cause, and the page asks for a click (explain()) rather than opening a popup
   * the browser would block outside a click.
   */
  async apiToken(forceRefresh) {
    const msal = await this.load();
    const account = this.account();
    if (!account) throw new Error('not signed in');
    return (await msal.acquireTokenSilent({ scopes: config.msal.scopes, account, forceRefresh })).accessToken;
  },
  needsUser(error) {
    return this.library !== undefined && error instanceof this.library.InteractionRequiredAuthError;
  },
  async signOut() {
    const account = this.account();
    if (account) await this.msal.logoutPopup({ account, mainWindowRedirectUri: location.origin });
  },
};

/** GPT Realtime: a key of its own from the API, then WebRTC straight to Azure OpenAI. */
async function talk() {
  $('talk').disabled = true;
  $('talk-events').replaceChildren();
  setTalkState('asking for a key…');
  try {
    const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    const connection = await connectRealtime({
      baseUrl: config.apiBaseUrl,
      resource: config.realtime.resource,
      getAccessToken: ({ forceRefresh }) =>
        config.mode === 'sandbox' ? session.accessToken : azure.apiToken(forceRefresh),
      audio: microphone,
      audioOutput: $('talk-voice'),
      createPeerConnection: () => {
        const peer = new RTCPeerConnection();
        peer.addEventListener('connectionstatechange', () => setTalkState(peer.connectionState));
        return peer;
      },
    });
    call = { connection, microphone };
    const { model, voice } = connection.token.session ?? {};
    $('talk-session').textContent = `${model ?? '?'}${voice ? `, voice ${voice}` : ''}`;
    connection.events.addEventListener('message', (message) => {
      const event = JSON.parse(message.data);
      const item = document.createElement('li');
      item.textContent = `${new Date().toLocaleTimeString()} ${event.type}${event.session?.model ? ` (${event.session.model})` : ''}`;
      $('talk-events').append(item);
    });
    setTalkState(connection.peerConnection.connectionState);
    log(`Talking: a new key for ${config.realtime.resource}, connected over WebRTC.`);
  } catch (error) {
    setTalkState('not connected');
    say(explainTalk(error));
    log(`Talk failed: ${error.code ?? error.name}.`, 'bad');
  } finally {
    $('talk').disabled = false;
    render();
  }
}

function hangUp() {
  if (!call) return;
  call.connection.close();
  for (const track of call.microphone.getTracks()) track.stop();
  call = undefined;
  setTalkState('not connected');
  render();
}

function setTalkState(text) {
  $('talk-state').textContent = text;
}

function explainTalk(error) {
  // The sandbox's fake Azure OpenAI has a self-signed certificate: a browser that does not trust it cannot post the offer.
  if (error.code === 'realtime_connection_failed' && error.status === undefined && config.realtime.certificateUrl)
    return `Could not reach the fake Azure OpenAI: open ${config.realtime.certificateUrl} once and accept its certificate, then Talk again.`;
  if (error.name === 'NotAllowedError') return 'The microphone was not allowed.';
  return explain(error);
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
