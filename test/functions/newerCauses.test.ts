import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeCognitive } from '../../devstack/fakes/cognitive.js';
import { startFakeEntra, type FakeEntra } from '../../devstack/fakes/entra.js';
import { getAvatarIceServers, parseVendedToken } from '../../packages/client/src/index.js';
import type { Dependencies } from '../../src/composition.js';
import { CALLERS, diagnose } from '../../src/doctor/diagnose.js';
import { AUDIENCE, expectNoKeys, KEYS, RESOURCES, startHarness, TENANT_ID, type Harness } from '../support/harness.js';

// Issue 20's cases at the wire, each with other members of its kind: what the caller is answered,
// what the operator's log says, and that the doctor says the same.

let h: Harness;
const extra: { close(): Promise<void> }[] = [];
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  expectNoKeys(h.logText());
  await Promise.all([h.close(), ...extra.splice(0).map((fake) => fake.close())]);
});

function lastRequestLine(): Record<string, unknown> {
  const line = h.events('request').at(-1);
  if (line === undefined) throw new Error('no request line');
  return line;
}

/** The harness's wire, with a clock the doctor's retries do not move. */
const doctorDependencies = (): Dependencies => ({ ...h.dependencies, sleep: () => Promise.resolve() });

async function doctorFinding(resource: string, options: Parameters<typeof diagnose>[2] = {}) {
  const findings = await diagnose(h.env, doctorDependencies(), options);
  expectNoKeys(JSON.stringify(findings));
  const finding = findings.find((f) => f.resource === resource);
  if (finding === undefined) throw new Error(`no finding for ${resource}: ${JSON.stringify(findings)}`);
  return finding;
}

/** The harness's fetch: Azure's hosts answered by the fakes. */
function wire(): typeof fetch {
  const atTheWire = h.dependencies.fetch;
  if (atTheWire === undefined) throw new Error('the harness has no fetch');
  return atTheWire;
}

async function token(resource = 'speech', bearer?: string) {
  return h.call('GET', `/api/token/${resource}`, { authorization: `Bearer ${bearer ?? (await h.callerToken())}` });
}

describe('5. a caller token that does not verify is described from its own claims', () => {
  it('a Microsoft Graph token (header nonce, signature never verifies): 401 that says so, not "forgery"', async () => {
    const graph = await h.entra.mintGraphToken();
    const refused = await token('speech', graph);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({
      code: 'invalid_token',
      detail: expect.stringMatching(
        /^This is a Microsoft Graph token, not a token for this API: request a token for this API's scope/,
      ),
    });
    const diagnosis = String(lastRequestLine().diagnosis);
    expect(diagnosis).toMatch(
      /^signature verification failed: this is a Microsoft Graph access token \(aud "https:\/\/graph\.microsoft\.com", scp "openid profile User\.Read email"/,
    );
    expect(diagnosis).toMatch(/its header carries a nonce, which only Graph can undo/);
    expect(diagnosis).toContain(`request a token for this API's scope (${AUDIENCE}/<scope>)`);

    const finding = await doctorFinding(CALLERS, { callerToken: graph });
    expect(finding).toMatchObject({ ok: false, cause: 'invalid_token', detail: diagnosis });
  });

  it.each([
    ["Graph's application ID as aud", { aud: '00000003-0000-0000-c000-000000000000' }, 'Microsoft Graph'],
    ['Graph in US Government', { aud: 'https://graph.microsoft.us' }, 'Microsoft Graph'],
  ])('a Graph token with %s is named too', async (_, claims, name) => {
    const refused = await token('speech', await h.entra.mintGraphToken(claims));
    expect((refused.json as { detail: string }).detail).toMatch(new RegExp(`^This is a ${name} token`));
  });

  it.each([
    ['Azure Resource Manager', 'https://management.azure.com/'],
    ['Azure Key Vault', 'https://vault.azure.net'],
    ['Azure AI services', 'https://cognitiveservices.azure.com'],
  ])('a correctly signed token for %s is named by its API', async (name, aud) => {
    const refused = await token('speech', await h.callerToken({ aud }));
    expect(refused.status).toBe(401);
    expect((refused.json as { detail: string }).detail).toMatch(new RegExp(`^This is a ${name} token`));
    expect(String(lastRequestLine().diagnosis)).toMatch(new RegExp(`this is a ${name} access token`));
  });

  it('an ID token for the single-page app (aud the SPA, a nonce, no azp): the ID token detail', async () => {
    const idToken = await h.entra.mint({
      aud: '9d5c1f0e-1111-4222-8333-444455556666',
      nonce: 'abc',
      azp: undefined,
      scp: undefined,
      roles: undefined,
    });
    const refused = await token('speech', idToken);
    expect((refused.json as { detail: string }).detail).toMatch(/^This is an ID token/);
    expect(String(lastRequestLine().diagnosis)).toMatch(
      /this is an ID token \(aud "9d5c1f0e-1111-4222-8333-444455556666", ver "2\.0", a nonce/,
    );
    expect(await doctorFinding(CALLERS, { callerToken: idToken })).toMatchObject({
      cause: 'invalid_token',
      fix: expect.stringMatching(/^This is an ID token/),
    });
  });

  it('an ID token whose aud is this API (one registration for SPA and API): the same detail', async () => {
    const refused = await token('speech', await h.callerToken({ azp: undefined, nonce: 'n' }));
    expect((refused.json as { detail: string }).detail).toMatch(/^This is an ID token/);
  });

  it('a token from another tenant: the tid detail, and the diagnosis names the tenant', async () => {
    const other = 'aaaaaaaa-1111-4222-8333-bbbbbbbbbbbb';
    const refused = await token(
      'speech',
      await h.callerToken({ tid: other, iss: `${h.entra.authorityHost}/${other}/v2.0` }),
    );
    expect((refused.json as { detail: string }).detail).toMatch(/another Entra tenant \(tid\)/);
    expect(String(lastRequestLine().diagnosis)).toMatch(
      new RegExp(`the token is from another tenant \\(tid "${other}"`),
    );
  });

  it('a token for another application: the aud detail; a GUID aud hints at an Object ID configured', async () => {
    h.rebuild({ AUTH_AUDIENCES: `${AUDIENCE},0f0f0f0f-1111-4222-8333-444455556666` });
    await token('speech', await h.callerToken({ aud: '7e7e7e7e-1111-4222-8333-444455556666' }));
    expect(String(lastRequestLine().diagnosis)).toMatch(
      /the token is for another application \(aud "7e7e7e7e-.*an Object ID where the Application \(client\) ID belongs\?/,
    );
  });

  it('a v1.0 token whose aud has the trailing slash its client asked with is accepted', async () => {
    const accepted = await token('speech', await h.callerToken({ aud: `${AUDIENCE}/`, ver: '1.0' }));
    expect(accepted.status).toBe(200);
  });

  it('the doctor accepts a good token and says whose it is', async () => {
    const finding = await doctorFinding(CALLERS, { callerToken: await h.callerToken() });
    expect(finding).toMatchObject({ ok: true, detail: expect.stringMatching(/the given token is accepted/) });
  });
});

describe('5. Key Vault: the soft-delete hint is kept', () => {
  it('a deleted secret: secret_not_found whose fix says recover or purge, by the service and the doctor', async () => {
    h.vault.deleteSecret('speech-key');
    expect((await token()).json).toMatchObject({ status: 502, code: 'secret_not_found' });
    const line = lastRequestLine();
    expect(String(line.diagnosis)).toContain('If you recently deleted this secret you may be able to recover it');
    expect(String(line.fix)).toMatch(/az keyvault secret recover .*409 Conflict/);
    expect(await doctorFinding('speech')).toMatchObject({ cause: 'secret_not_found', fix: line.fix });
  });

  it.each([
    [
      'AKV10022 another audience',
      401,
      'Unauthorized',
      'AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://vault.azure.net/.',
      undefined,
      'keyvault_token_rejected',
    ],
    [
      'a firewall without an inner code',
      403,
      'Forbidden',
      'Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7',
      undefined,
      'keyvault_network_restricted',
    ],
    ['AccessDenied', 403, 'Forbidden', 'Access denied.', 'AccessDenied', 'keyvault_access_policy_missing'],
  ])('%s: its own code, the same for the doctor', async (_, status, code, message, innerCode, expected) => {
    h.vault.answerSecret('speech-key', { status, code, message, ...(innerCode === undefined ? {} : { innerCode }) });
    expect((await token()).json).toMatchObject({ code: expected });
    const line = lastRequestLine();
    expect(await doctorFinding('speech')).toMatchObject({ cause: expected, detail: line.diagnosis, fix: line.fix });
  });
});

describe('5. a certificate the app does not trust is tls_untrusted, with its fix', () => {
  it('Key Vault behind a TLS-inspecting proxy (a certificate the client does not trust)', async () => {
    // The vault's certificate is not given to the client: a proxy's, as the app sees it.
    Object.assign(h.dependencies, { keyVaultClientOptions: { retryOptions: { maxRetries: 0 } } });
    h.rebuild();
    const refused = await token();
    expect(refused.status).toBe(502);
    expect(refused.json).toMatchObject({ code: 'tls_untrusted' });
    const line = lastRequestLine();
    expect(String(line.diagnosis)).toMatch(
      /^127\.0\.0\.1:\d+ \(Key Vault\) presented a certificate Node does not accept: DEPTH_ZERO_SELF_SIGNED_CERT/,
    );
    expect(String(line.fix)).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(String(line.fix)).not.toMatch(/DNS/);
    expect(await doctorFinding('speech')).toMatchObject({
      cause: 'tls_untrusted',
      detail: line.diagnosis,
      fix: line.fix,
    });
  });

  it('the token service behind one: not retried, the same for the doctor', async () => {
    const proxied = await startFakeCognitive({
      keys: [{ key: KEYS.speech, cloud: 'AzureCloud', subdomain: 'loopback' }],
      tls: true,
    });
    extra.push(proxied);
    h.rebuild({
      TOKEN_RESOURCES: JSON.stringify([
        ...RESOURCES,
        {
          name: 'speech-proxied',
          kind: 'speech',
          endpoint: proxied.url,
          privateEndpoint: true,
          secretName: 'speech-key',
          allowedRoles: ['Speech.Token'],
        },
      ]),
    });
    const refused = await token('speech-proxied');
    expect(refused.json).toMatchObject({ status: 502, code: 'tls_untrusted' });
    const line = lastRequestLine();
    expect(String(line.diagnosis)).toMatch(/\(the token service\) presented a certificate Node does not accept/);
    // One connection: a refused certificate is not tried again.
    expect(proxied.connections()).toBe(1);
    expect(await doctorFinding('speech-proxied')).toMatchObject({ cause: 'tls_untrusted', detail: line.diagnosis });
  });

  it('Entra ID behind one: callers get tls_untrusted (not "unavailable"), and so does the doctor', async () => {
    const proxiedEntra: FakeEntra = await startFakeEntra({ tenantId: TENANT_ID, tls: true });
    extra.push(proxiedEntra);
    h.rebuild({ AUTH_AUTHORITY_HOST: proxiedEntra.authorityHost });
    const refused = await token('speech', await proxiedEntra.mint({ aud: AUDIENCE, roles: ['Speech.Token'] }));
    expect(refused.json).toMatchObject({ status: 502, code: 'tls_untrusted' });
    expect(String(lastRequestLine().diagnosis)).toMatch(/\(Entra ID\) presented a certificate Node does not accept/);
    // Asked again at once: the same cause, not "discovery failed moments ago".
    const again = await token('speech', await proxiedEntra.mint({ aud: AUDIENCE, roles: ['Speech.Token'] }));
    expect(again.json).toMatchObject({ code: 'tls_untrusted' });
    expect(await doctorFinding(CALLERS)).toMatchObject({
      cause: 'tls_untrusted',
      fix: expect.stringMatching(/NODE_EXTRA_CA_CERTS/),
    });
  });
});

describe("2. the TTS avatar's ICE relay takes the vended token", () => {
  it.each([
    ['speech', 'https://japanwest.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1'],
    ['speech-cn', 'https://chinaeast2.tts.speech.azure.cn/cognitiveservices/avatar/relay/token/v1'],
    ['speech-gov', 'https://usgovvirginia.tts.speech.azure.us/cognitiveservices/avatar/relay/token/v1'],
    ['speech-custom', 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1'],
    ['multi', 'https://eastus.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1'],
  ])('%s answers avatarRelay %s, and the relay there accepts the token', async (resource, relay) => {
    const answer = await token(resource);
    const vended = parseVendedToken(answer.json);
    expect(vended.endpoints.avatarRelay).toBe(relay);
    const iceServers = await getAvatarIceServers(vended, { fetch: wire() });
    expect(iceServers).toEqual([
      {
        urls: ['turn:relay.communication.microsoft.com:3478'],
        username: expect.any(String),
        credential: expect.any(String),
      },
    ]);
  });

  it('under a custom subdomain behind a private endpoint, the relay is at /tts on the subdomain', async () => {
    h.cognitive.setKeys([
      ...h.cognitive.keys(),
      {
        key: KEYS.custom,
        cloud: 'AzureCloud',
        subdomain: 'contoso-speech',
        region: 'westeurope',
        privateEndpoint: true,
      },
    ]);
    const resources = RESOURCES.map((r) => (r.name === 'speech-custom' ? { ...r, privateEndpoint: true } : r));
    h.rebuild({ TOKEN_RESOURCES: JSON.stringify(resources) });
    const vended = parseVendedToken((await token('speech-custom')).json);
    expect(vended.endpoints.avatarRelay).toBe(
      'https://contoso-speech.cognitiveservices.azure.com/tts/cognitiveservices/avatar/relay/token/v1',
    );
    expect(await getAvatarIceServers(vended, { fetch: wire() })).toHaveLength(1);
  });

  it('a token of another resource is refused by the relay (401), and a Translator token has no relay', async () => {
    const speech = parseVendedToken((await token('speech')).json);
    const other = parseVendedToken((await token('multi')).json);
    await expect(
      getAvatarIceServers({ ...speech, accessToken: other.accessToken }, { fetch: wire() }),
    ).rejects.toMatchObject({ code: 'http_401' });
    const translator = parseVendedToken((await token('translator')).json);
    await expect(getAvatarIceServers(translator, { fetch: wire() })).rejects.toMatchObject({
      code: 'invalid_response',
    });
  });
});

describe("the settings' warnings: the doctor says what the service logs at start-up", () => {
  it("a Foundry endpoint, read as the resource's custom subdomain: on that resource's finding", async () => {
    const resources = RESOURCES.map((r) =>
      r.name === 'speech-custom' ? { ...r, endpoint: 'https://contoso-speech.services.ai.azure.com' } : r,
    );
    h.rebuild({ TOKEN_RESOURCES: JSON.stringify(resources) });
    const logged = h.events('configuration_warning').map((line) => String(line.problem));
    expect(logged).toEqual([
      expect.stringMatching(/is used as https:\/\/contoso-speech\.cognitiveservices\.azure\.com: .* Foundry/),
    ]);
    const finding = await doctorFinding('speech-custom');
    expect(finding).toMatchObject({ ok: true, warnings: [`TOKEN_RESOURCES resource "speech-custom": ${logged[0]}`] });
    expect((await doctorFinding('speech')).warnings).toBeUndefined();
  });

  it('an authority host that is no known Entra host: on the (callers) finding', async () => {
    h.rebuild({ AUTH_AUTHORITY_HOST: 'https://login.contoso-proxy.example' });
    const logged = h.events('configuration_warning').map((line) => String(line.problem));
    expect(logged).toEqual([expect.stringMatching(/is not a known Entra authority host/)]);
    const finding = await doctorFinding(CALLERS);
    expect(finding.warnings).toEqual([`AUTH_AUTHORITY_HOST: ${logged[0]}`]);
  });
});
