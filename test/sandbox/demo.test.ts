import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.js';
import { STACK_KEYS } from '../../devstack/localStack.js';
import { launchChromium } from '../support/chromium.js';

let sandbox: Sandbox;
let browser: Browser;
const pageErrors: string[] = [];
/** Scripts the pages in sandbox mode loaded. */
const sandboxScripts: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ apiPort: 0, demoPort: 0 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser.close();
  await sandbox.stop();
  const output = sandbox.stack.hostOutput.join('\n');
  for (const key of [...Object.values(STACK_KEYS), ...sandbox.stack.arm.everyKey()]) expect(output).not.toContain(key);
});

async function openDemo(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => {
    if (request.resourceType() === 'script') sandboxScripts.push(request.url());
  });
  await page.goto(sandbox.demoUrl);
  await expect.poll(() => page.textContent('#mode')).toContain('Sandbox');
  return page;
}

describe('the demo page against the sandbox, in Chromium', () => {
  it('is the page Vite built, with the client bundled from the packed package', async () => {
    const html = await (await fetch(sandbox.demoUrl)).text();
    const script = /<script type="module"[^>]* src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const bundle = await (await fetch(new URL(script ?? '', sandbox.demoUrl))).text();
    expect(bundle).toContain('TokenVendingError');
    // MSAL.js is bundled from npm, in a chunk of its own the page imports only in Azure mode
    const chunks = [...bundle.matchAll(/"(?:\.\/|assets\/)([\w-]+\.js)"/g)].map((match) => match[1] ?? '');
    const sources = await Promise.all(
      chunks.map(async (chunk) => (await fetch(new URL(`/assets/${chunk}`, sandbox.demoUrl))).text()),
    );
    expect(sources.some((source) => source.includes('msal.js.browser'))).toBe(true);
    expect(bundle).not.toContain('msal.js.browser');
    // the sources are not served: only sandbox/demo/dist is
    expect((await fetch(new URL('/app.js', sandbox.demoUrl))).status).toBe(404);
    expect((await fetch(new URL('/client/index.js', sandbox.demoUrl))).status).toBe(404);
  });

  it('signs in, gets a token across origins (CORS), counts down, and refreshes', async () => {
    const page = await openDemo();
    await page.click('#sign-in');
    await expect.poll(() => page.textContent('#user')).toBe('Signed in as Sandbox User.');
    await page.click('#get-token');
    await expect.poll(() => page.textContent('#message')).toBe('Token received.');
    expect(await page.textContent('#resource')).toBe('speech');
    expect(await page.textContent('#region')).toBe(`custom subdomain (${sandbox.stack.cognitive.url})`);
    const first = await page.textContent('#countdown');
    expect(first).toMatch(/^(9|10):\d\d$/);
    await expect.poll(() => page.textContent('#countdown'), { timeout: 5000 }).not.toBe(first);
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#fetches')).toBe('2');
    expect(await page.locator('#activity li').allTextContents()).toEqual([
      expect.stringContaining('New token, valid until'),
      expect.stringContaining('New token, valid until'),
    ]);
    await page.screenshot({ path: 'dist/demo.png' });
    expect(pageErrors).toEqual([]);
    // the sandbox never needs MSAL.js, so never loads its chunk
    const loaded = await Promise.all(sandboxScripts.map(async (url) => (await fetch(url)).text()));
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.filter((source) => source.includes('msal.js.browser'))).toEqual([]);
    // the page's origin is not the API's: the request went through the CORS allow-list
    expect(new URL(sandbox.demoUrl).origin).not.toBe(new URL(sandbox.stack.apiUrl).origin);
    await page.close();
  });

  it('shows a clear message when the caller lacks the role', async () => {
    const page = await openDemo();
    await page.check('#without-role');
    await page.click('#sign-in');
    await expect.poll(() => page.textContent('#user')).toContain('no role');
    await page.click('#get-token');
    await expect.poll(() => page.textContent('#message')).toContain('Signed in, but not allowed');
    expect(await page.textContent('#message')).toContain('Speech.Token');
    expect(await page.isHidden('#token')).toBe(true);
    await page.close();
  });
});

/** The API's answer to the page, as Chromium receives it, changed by `answer` (CORS headers kept). */
async function routeTokenRequests(page: Page, answer: (route: Route, count: number) => Promise<void>): Promise<void> {
  let count = 0;
  await page.route(`${sandbox.stack.apiUrl}/token/**`, (route) => answer(route, ++count));
}

function corsHeaders(): Record<string, string> {
  return {
    'access-control-allow-origin': new URL(sandbox.demoUrl).origin,
    'access-control-expose-headers': 'retry-after, x-correlation-id',
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
  };
}

function rateLimited(retryAfterSeconds: number) {
  return {
    status: 429,
    headers: { ...corsHeaders(), 'retry-after': String(retryAfterSeconds) },
    body: JSON.stringify({
      status: 429,
      title: 'Too many requests',
      detail: 'Too many token requests from this caller.',
      code: 'rate_limited',
      correlationId: 'corr-demo',
      retryAfterSeconds,
    }),
  };
}

async function signedIn(): Promise<Page> {
  const page = await openDemo();
  await page.click('#sign-in');
  await expect.poll(() => page.textContent('#user')).toBe('Signed in as Sandbox User.');
  return page;
}

describe('the demo page shows what the client does', () => {
  it('shows a pending state while a request is in flight', async () => {
    const page = await signedIn();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await routeTokenRequests(page, async (route) => {
      await released;
      await route.continue();
    });
    await page.click('#get-token');
    await expect.poll(() => page.isVisible('#pending')).toBe(true);
    expect(await page.textContent('#pending')).toBe('Requesting a token…');
    expect(await page.isDisabled('#get-token')).toBe(true);
    expect(await page.getAttribute('#token-section', 'aria-busy')).toBe('true');
    release();
    await expect.poll(() => page.textContent('#message')).toBe('Token received.');
    expect(await page.isHidden('#pending')).toBe(true);
    expect(await page.getAttribute('#token-section', 'aria-busy')).toBe('false');
    await page.close();
  });

  it('shows throttling: a short Retry-After is waited out, a long one counts down on the button', async () => {
    const page = await signedIn();
    await routeTokenRequests(page, async (route, count) => {
      if (count === 1) await route.fulfill(rateLimited(1));
      else if (count === 2) await route.continue();
      else await route.fulfill(rateLimited(120));
    });
    await page.click('#get-token');
    // after the one-second wait Retry-After asked for
    await expect.poll(() => page.textContent('#message'), { timeout: 10_000 }).toBe('Token received.');
    expect(await page.locator('#activity li').allTextContents()).toEqual([
      expect.stringContaining('Throttled (rate_limited): the API asks to wait 1 s.'),
      expect.stringContaining('Attempt 1 of 3 failed (rate_limited); retrying in 1 s.'),
      expect.stringContaining('New token'),
    ]);
    await page.click('#refresh');
    await expect.poll(() => page.textContent('#message')).toContain('Throttled: Too many token requests');
    expect(await page.textContent('#message')).toContain('Try again in 120 s (rate_limited, correlation id corr-demo)');
    expect(await page.locator('#activity li').last().textContent()).toContain('Failed: rate_limited.');
    await expect.poll(() => page.textContent('#get-token')).toMatch(/^Get token \(wait 1[12]\d s\)$/);
    expect(await page.isDisabled('#get-token')).toBe(true);
    await page.close();
  });

  it('signs out: the token and the account are gone, and signing in again starts afresh', async () => {
    const page = await signedIn();
    await page.click('#get-token');
    await expect.poll(() => page.textContent('#message')).toBe('Token received.');
    await page.click('#sign-out');
    await expect.poll(() => page.textContent('#user')).toBe('Not signed in.');
    expect(await page.isHidden('#token')).toBe(true);
    expect(await page.isDisabled('#get-token')).toBe(true);
    expect(await page.isHidden('#sign-out')).toBe(true);
    expect(await page.locator('#activity li').count()).toBe(0);
    await page.click('#sign-in');
    await page.click('#get-token');
    await expect.poll(() => page.textContent('#fetches')).toBe('1');
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('in Azure mode signs in with MSAL.js from the bundle, reaching for no script on another origin', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const outside: string[] = [];
    // Nothing leaves the machine: every request off loopback, from any window, is recorded and refused.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, async (route) => {
      outside.push(route.request().url());
      await route.abort();
    });
    await page.route('**/sandbox/config.json', (route) =>
      route.fulfill({
        json: {
          mode: 'azure',
          apiBaseUrl: sandbox.stack.apiUrl,
          resource: 'speech',
          msal: {
            clientId: '00000000-0000-4000-8000-000000000001',
            authority: 'https://login.microsoftonline.com/00000000-0000-4000-8000-000000000002',
            scopes: ['api://token-vending/Tokens.Request'],
          },
        },
      }),
    );
    const scripts: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).origin);
    });
    await page.goto(sandbox.demoUrl);
    await expect.poll(() => page.textContent('#mode')).toContain('Azure: signing in with Microsoft Entra ID');
    const popup = context.waitForEvent('page', { timeout: 15_000 });
    await page.click('#sign-in');
    // MSAL.js (loaded from the bundle) opens Entra's authorize page in a popup, with PKCE.
    await expect
      .poll(() => outside.find((url) => url.includes('/oauth2/v2.0/authorize')), { timeout: 15_000 })
      .toMatch(
        /^https:\/\/login\.microsoftonline\.com\/00000000-0000-4000-8000-000000000002\/oauth2\/v2\.0\/authorize\?.*client_id=00000000-0000-4000-8000-000000000001.*code_challenge=/,
      );
    await popup;
    expect(new Set(scripts)).toEqual(new Set([new URL(sandbox.demoUrl).origin]));
    await context.close();
  });
});

describe('the demo page’s Talk panel (GPT Realtime)', () => {
  let talker: Browser;
  beforeAll(async () => {
    // A microphone that plays a tone, granted without asking; the fake Azure OpenAI trusted by its pin alone.
    talker = await launchChromium([
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      `--ignore-certificate-errors-spki-list=${sandbox.stack.openai.spkiPin}`,
    ]);
  });
  afterAll(async () => {
    await talker.close();
  });

  it('talks: a key from the API, the connection state, the session and its events; hang up', async () => {
    await sandbox.stack.openai.reset();
    const page = await talker.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(sandbox.demoUrl);
    expect(await page.isHidden('#talk-section')).toBe(true);
    await page.click('#sign-in');
    await expect.poll(() => page.isVisible('#talk-section')).toBe(true);
    expect(await page.textContent('#talk-resource')).toBe('assistant');
    await page.click('#talk');
    await expect.poll(() => page.textContent('#talk-state'), { timeout: 15_000 }).toBe('connected');
    expect(await page.textContent('#talk-session')).toBe('gpt-realtime, voice marin');
    await expect
      .poll(() => page.locator('#talk-events li').allTextContents(), { timeout: 15_000 })
      .toEqual([expect.stringContaining('session.created (gpt-realtime)')]);
    expect(sandbox.stack.openai.mints).toHaveLength(1);
    await expect.poll(() => sandbox.stack.openai.calls[0]?.audioPackets ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
    await page.click('#hang-up');
    expect(await page.textContent('#talk-state')).toBe('not connected');
    expect(await page.isVisible('#talk')).toBe(true);
    await page.screenshot({ path: 'dist/demo-talk.png' });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
