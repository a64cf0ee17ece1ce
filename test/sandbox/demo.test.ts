import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.js';
import { STACK_KEYS } from '../../devstack/localStack.js';
import { launchChromium } from '../support/chromium.js';

let sandbox: Sandbox;
let browser: Browser;
const pageErrors: string[] = [];

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
    await page.screenshot({ path: 'dist/demo.png' });
    expect(pageErrors).toEqual([]);
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
