import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { buildInstance, expectNoKeys, KEYS, startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
  expectNoKeys(h.logText());
  expect(h.logText()).not.toMatch(/eyJ[\w-]+\.eyJ/);
});

/** The app as an instance starts it, wired to the harness's fakes. */
async function startInstance() {
  const app = createApp(h.env, h.dependencies);
  h.services = app.services;
  h.routes = [...app.routes];
  return app;
}

const stsCallsFor = (key: string) =>
  h.cognitive.calls.filter((c) => c.path.endsWith('/issueToken') && c.keyLast4 === key.slice(-4)).length;

describe('warm-up at instance start', () => {
  it("fetches discovery, the signing keys, and every resource's key and token before any caller", async () => {
    const app = await startInstance();
    await app.warmedUp;
    expect(h.entra.requests).toEqual({ discovery: 1, jwks: 1 });
    expect(h.vault.requests.get).toBe(6);
    for (const key of [KEYS.speech, KEYS.china, KEYS.gov, KEYS.custom, KEYS.translator, KEYS.multi])
      expect(stsCallsFor(key)).toBe(1);

    // The first caller waits for nothing: every answer comes from the caches the warm-up filled.
    const token = await h.callerToken();
    const first = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` });
    expect(first.status).toBe(200);
    expect(h.entra.requests).toEqual({ discovery: 1, jwks: 1 });
    expect(h.vault.requests.get).toBe(6);
    expect(stsCallsFor(KEYS.speech)).toBe(1);
  });

  it('a caller arriving mid-warm-up joins it instead of starting its own', async () => {
    const app = await startInstance();
    const token = await h.callerToken();
    const [answer] = await Promise.all([
      h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` }),
      app.warmedUp,
    ]);
    expect(answer.status).toBe(200);
    expect(h.entra.requests).toEqual({ discovery: 1, jwks: 1 });
    expect(h.vault.requests.byName['speech-key']).toBe(1);
    expect(stsCallsFor(KEYS.speech)).toBe(1);
  });

  it('health answers while the warm-up waits on a hanging vault', async () => {
    h.vault.hang = true;
    const app = await startInstance();
    let warmedUp = false;
    void app.warmedUp.then(() => (warmedUp = true));
    // The warm-up has reached the vault, which never answers.
    await expect.poll(() => h.vault.connections(), { timeout: 10_000 }).toBeGreaterThan(0);
    const health = await h.call('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(warmedUp).toBe(false);
    h.vault.hang = false;
  });

  it('failures are logged with their cause code and never thrown; the lazy path reports them as before', async () => {
    h.vault.accessMode = 'forbidden';
    h.cognitive.script('*', { status: 500 });
    const app = await startInstance();
    await expect(app.warmedUp).resolves.toBeUndefined();
    const failures = h.logs
      .filter((l) => l.text.includes('"event":"warm_up_failed"'))
      .map((l) => JSON.parse(l.text) as Record<string, string>);
    expect(failures.map((f) => [f.resource, f.code])).toContainEqual(['speech', 'keyvault_role_missing']);
    expect(failures.every((f) => f.level === 'warn' && typeof f.fix === 'string')).toBe(true);

    h.clock.now += 60_000; // past the refresh cooldown: a caller triggers the lazy path again
    const token = await h.callerToken();
    const answer = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` });
    expect(answer.status).toBe(502);
    expect(answer.json).toMatchObject({ code: 'keyvault_role_missing' });
  });

  it('an unreachable Entra is logged as identity_provider_unavailable, and tokens still warm up', async () => {
    h.env.AUTH_AUTHORITY_HOST = 'http://127.0.0.1:9';
    const app = await startInstance();
    await app.warmedUp;
    const entraFailure = h.logs.find((l) => l.text.includes('"step":"caller_authentication"'));
    expect(entraFailure?.text).toContain('identity_provider_unavailable');
    expect(stsCallsFor(KEYS.speech)).toBe(1);
  });

  it('unauthenticated traffic after the warm-up calls no upstream', async () => {
    const app = await startInstance();
    await app.warmedUp;
    const before = { entra: { ...h.entra.requests }, vault: h.vault.requests.get, sts: h.cognitive.calls.length };
    for (let i = 0; i < 20; i++) {
      expect((await h.call('GET', '/api/token/speech')).status).toBe(401);
      expect((await h.call('GET', '/api/token/speech', { authorization: 'Bearer not-a-jwt' })).status).toBe(401);
      expect(
        (await h.call('GET', '/api/resources', { authorization: `Bearer ${await h.entra.mintUnsigned()}` })).status,
      ).toBe(401);
    }
    expect({ entra: h.entra.requests, vault: h.vault.requests.get, sts: h.cognitive.calls.length }).toEqual(before);
  });

  it('an invalid configuration warms nothing up', async () => {
    h.env.TOKEN_RESOURCES = '[]';
    const app = await startInstance();
    await app.warmedUp;
    expect(app.services.configurationError?.code).toBe('configuration_invalid');
    expect(h.entra.requests).toEqual({ discovery: 0, jwks: 0 });
    expect(h.vault.requests.get).toBe(0);
  });
});

describe('connections to the upstreams are kept alive', () => {
  it('repeated Key Vault reads and STS exchanges reuse their connections', async () => {
    const { parts } = buildInstance(h.env, h.dependencies);
    if (parts instanceof Error) throw parts;
    const speech = parts.config.resources.find((r) => r.name === 'speech');
    if (speech === undefined) throw new Error('no speech resource');
    const mint = () => parts.bound(speech).mint(speech);
    // The first read and exchange open the connections the rest must reuse.
    await parts.secrets.getSecret('speech-key', { refresh: true });
    await mint();
    const vaultBefore = h.vault.connections();
    const stsBefore = h.cognitive.connections();
    for (let i = 0; i < 5; i++) {
      await parts.secrets.getSecret('speech-key', { refresh: true });
      await mint();
    }
    expect(h.vault.connections() - vaultBefore).toBe(0);
    expect(h.cognitive.connections() - stsBefore).toBe(0);
  });
});
