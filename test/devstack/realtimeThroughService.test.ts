/**
 * The whole realtime path in a real browser: a page on its own origin uses the client package's
 * `connectRealtime`, which asks the local host (the real service, in its own process) for a key,
 * and the service mints it at the fake Azure OpenAI with its managed identity; the page then posts
 * its offer with that key to the fake's WebRTC peer. Chromium trusts the fake's certificate by its
 * SPKI pin only (see docs/realtime.md); the API is plain http on 127.0.0.1, allowed by CORS.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeServer, listenOnLoopback } from '../../devstack/fakes/server.js';
import {
  repositoryRoot,
  startLocalStack,
  STACK_KEYS,
  STACK_REALTIME,
  type LocalStack,
} from '../../devstack/localStack.js';
import { launchChromium } from '../support/chromium.js';

/** Generous bounds for a busy 2-core machine: each wait ends as soon as what it waits for is true. */
const CONNECTED_WITHIN_MS = 15_000;

let stack: LocalStack;
let pageServer: Server;
let pageUrl: string;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  const html = readFileSync(new URL('./realtimeClientPage.html', import.meta.url), 'utf8');
  const client = join(repositoryRoot(), 'packages', 'client', 'dist', 'esm');
  pageServer = createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    const module = /^\/client\/([\w.]+\.js)$/.exec(path)?.[1];
    if (module !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(readFileSync(join(client, module)));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  pageUrl = `http://127.0.0.1:${await listenOnLoopback(pageServer)}/`;
  stack = await startLocalStack({ corsOrigins: [new URL(pageUrl).origin] });
  browser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    `--ignore-certificate-errors-spki-list=${stack.openai.spkiPin}`,
  ]);
});
afterAll(async () => {
  await browser.close();
  await closeServer(pageServer);
  await stack.stop();
  const output = stack.hostOutput.join('\n');
  for (const key of [...Object.values(STACK_KEYS), ...stack.openai.mints.flatMap((m) => (m.value ? [m.value] : []))])
    expect(output).not.toContain(key);
});
beforeEach(async () => {
  await stack.openai.reset();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(pageUrl);
  await expect.poll(() => page.evaluate('typeof window.talk')).toBe('function');
  return page;
}

interface Talked {
  key?: string;
  session?: { model: string; voice: string | null };
  webrtc?: string;
  error?: { name: string; code: string; status?: number; detail: string };
}
interface RealtimeEvent {
  type: string;
  session?: Record<string, unknown>;
}
const talk = async (page: Page, claims: Record<string, unknown> = {}) =>
  page.evaluate<Talked>(
    `talk(${JSON.stringify(stack.apiUrl)}, ${JSON.stringify(STACK_REALTIME.resource)}, ${JSON.stringify(await stack.callerToken(claims))})`,
  );
const events = (page: Page, index: number) => page.evaluate<RealtimeEvent[]>(`events(${index})`);

describe('Chromium through the client package and the service to the fake realtime peer', () => {
  it('gets a key from the service, connects, receives session.created with the configured model, and sends audio', async () => {
    const page = await openPage();
    const talked = await talk(page);
    expect(talked.error).toBeUndefined();
    expect(talked.session).toEqual({ model: STACK_REALTIME.deployment, voice: STACK_REALTIME.voice });
    expect(talked.webrtc).toBe(`${stack.openai.url}/openai/v1/realtime/calls?webrtcfilter=on`);

    // The service minted it: with the host's managed identity, the operator's session as configured.
    expect(stack.openai.mints).toHaveLength(1);
    expect(stack.openai.mints[0]).toMatchObject({ auth: 'entra', status: 200, value: talked.key });
    expect(stack.openai.mints[0]?.body).toEqual({
      session: {
        instructions: STACK_REALTIME.instructions,
        audio: { output: { voice: STACK_REALTIME.voice } },
        type: 'realtime',
        model: STACK_REALTIME.deployment,
      },
    });

    await expect
      .poll(async () => (await events(page, 0)).map((e) => e.type), { timeout: CONNECTED_WITHIN_MS })
      .toContain('session.created');
    const [created] = await events(page, 0);
    expect(created?.session).toMatchObject({ type: 'realtime', model: STACK_REALTIME.deployment });
    // webrtcfilter=on, from the URL the service gave: the prompt never reaches the browser.
    expect(created?.session).not.toHaveProperty('instructions');
    await expect
      .poll(() => page.evaluate('connectionStates()'), { timeout: CONNECTED_WITHIN_MS })
      .toEqual(['connected']);
    const [call] = stack.openai.calls;
    expect(call).toMatchObject({ model: STACK_REALTIME.deployment, webrtcFilter: true, dataChannels: ['oai-events'] });
    await expect.poll(() => call?.audioPackets ?? 0, { timeout: CONNECTED_WITHIN_MS }).toBeGreaterThanOrEqual(5);
    await page.evaluate('hangUp(0)');
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('asks for a new key for each connection: two connections, two mints, two calls', async () => {
    const page = await openPage();
    const first = await talk(page);
    const second = await talk(page);
    expect([first.error, second.error]).toEqual([undefined, undefined]);
    expect(first.key).not.toBe(second.key);
    expect(stack.openai.mints.map((m) => m.value)).toEqual([first.key, second.key]);
    await expect
      .poll(() => page.evaluate('connectionStates()'), { timeout: CONNECTED_WITHIN_MS })
      .toEqual(['connected', 'connected']);
    expect(stack.openai.calls).toHaveLength(2);
    await page.close();
  });

  it('gives a caller without the role the service’s typed refusal, and mints nothing', async () => {
    const page = await openPage();
    const talked = await talk(page, { roles: ['Speech.Token'] });
    expect(talked.error).toMatchObject({ name: 'TokenVendingError', code: 'forbidden', status: 403 });
    expect(stack.openai.mints).toEqual([]);
    await page.close();
  });
});
