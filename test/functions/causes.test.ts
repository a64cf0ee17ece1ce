import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Dependencies } from '../../src/composition.js';
import { CALLERS, diagnose } from '../../src/doctor/diagnose.js';
import { expectNoKeys, KEYS, startHarness, type Harness } from '../support/harness.js';

// Cases from public 401/403 reports, each with another member of its kind: the code a refusal
// gets, what the caller sees, what the operator's log says, and what the doctor says.

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  expectNoKeys(h.logText());
  await h.close();
});

async function token(resource = 'speech') {
  return h.call('GET', `/api/token/${resource}`, { authorization: `Bearer ${await h.callerToken()}` });
}

/** The log lines with this event, as objects. */
function events(event: string): Record<string, unknown>[] {
  return h.logs
    .map((line) => JSON.parse(line.text) as Record<string, unknown>)
    .filter((fields) => fields.event === event);
}

function lastRequestLine(): Record<string, unknown> {
  const line = events('request').at(-1);
  if (line === undefined) throw new Error('no request line');
  return line;
}

const stsCalls = () => h.cognitive.stsCalls('japanwest.api.cognitive.microsoft.com');

/** The harness's wire, with a clock the doctor's retries do not move. */
const doctorDependencies = (): Dependencies => ({ ...h.dependencies, sleep: () => Promise.resolve() });

async function doctorFinding(resource: string) {
  const findings = await diagnose(h.env, doctorDependencies());
  expectNoKeys(JSON.stringify(findings));
  const finding = findings.find((f) => f.resource === resource);
  if (finding === undefined) throw new Error(`no finding for ${resource}`);
  return finding;
}

describe('1. one reading of the key, for the service and the doctor', () => {
  it.each([
    ['a trailing newline (az keyvault secret set --file)', `${KEYS.speech}\n`, 'trailing a newline'],
    [
      'leading spaces and a trailing CRLF (a copied line)',
      `  ${KEYS.speech}\r\n`,
      'leading 2 spaces and trailing a carriage return, a newline',
    ],
  ])('%s: the key works, and the trimming is reported once per version', async (_, stored, trimmed) => {
    h.vault.setSecret('speech-key', stored);
    expect((await token()).status).toBe(200);
    h.clock.now += 11 * 60_000; // past the token's life: a second exchange, the same secret version
    expect((await token()).status).toBe(200);
    expect(events('secret_trimmed')).toEqual([expect.objectContaining({ secret: 'speech-key', trimmed })]);

    const finding = await doctorFinding('speech');
    expect(finding).toMatchObject({ ok: true, warnings: [expect.stringContaining(trimmed)] });
  });

  it.each([
    ['quotes around it', `"${KEYS.speech}"`, 'key_malformed'],
    ['a space inside it', `${KEYS.speech.slice(0, 16)} ${KEYS.speech.slice(16)}`, 'key_malformed'],
    ['a subscription ID', 'f1e2d3c4-b5a6-4789-9012-345678901234', 'key_looks_like_subscription_id'],
  ])('%s stays refused with its code, by the service and the doctor', async (_, stored, code) => {
    h.vault.setSecret('speech-key', stored);
    expect((await token()).json).toMatchObject({ code });
    expect(await doctorFinding('speech')).toMatchObject({ ok: false, cause: code });
  });

  it('an expired secret version is used, as Key Vault serves it, and reported', async () => {
    h.vault.setSecret('speech-key', KEYS.speech, { expiresOn: h.clock.now - 60_000 });
    expect((await token()).status).toBe(200);
    expect(events('secret_expired')).toHaveLength(1);
    expect((await doctorFinding('speech')).warnings).toEqual([expect.stringContaining('expired on')]);
  });
});

describe('2. a refusal whose body names its reason gets a code that names it', () => {
  const quota = (replenish: string) =>
    `{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in ${replenish}." }`;

  it('an exhausted quota: 503 with when it returns, and the STS left alone until the caller may retry', async () => {
    h.cognitive.script('japanwest.api.cognitive.microsoft.com', { status: 403, body: quota('2.03:04:05') });
    const refused = await token();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('300');
    expect(refused.json).toMatchObject({ code: 'quota_exceeded', retryAfterSeconds: 300 });
    const returnsAt = new Date(h.clock.now + ((2 * 24 + 3) * 3600 + 4 * 60 + 5) * 1000).toISOString();
    expect((refused.json as { detail: string }).detail).toContain(returnsAt);
    expect((refused.json as { detail: string }).detail).toContain('A higher pricing tier lifts the limit');
    expect(stsCalls()).toBe(1);

    h.clock.now += 299_000;
    expect((await token()).json).toMatchObject({ code: 'quota_exceeded' });
    expect(stsCalls()).toBe(1);
    h.clock.now += 2_000;
    await token();
    expect(stsCalls()).toBe(2);
  });

  it.each([
    ['a quota back in under five minutes', quota('00:01:30'), '90'],
    ['a quota back in hours (no day part)', quota('03:30:56'), '300'],
    [
      "Translator's free quota (403001)",
      '{"error":{"code":403001,"message":"The operation is not allowed because the subscription has exceeded its free quota."}}',
      '300',
    ],
  ])('%s is quota_exceeded too', async (_, body, retryAfter) => {
    h.cognitive.script('*', { status: 403, body });
    const refused = await token();
    expect(refused.json).toMatchObject({ code: 'quota_exceeded' });
    expect(refused.headers['retry-after']).toBe(retryAfter);
  });

  it("an STS 429's Retry-After keeps the instance away from the STS for that long", async () => {
    h.cognitive.script('*', { status: 429, retryAfterSeconds: 60 });
    expect((await token()).json).toMatchObject({ code: 'sts_throttled', retryAfterSeconds: 60 });
    const calls = stsCalls();
    h.clock.now += 30_000;
    expect((await token()).json).toMatchObject({ code: 'sts_throttled' });
    expect(stsCalls()).toBe(calls);
  });

  it("Key Vault's 429 Retry-After keeps the instance away from the vault for that long", async () => {
    h.vault.answerSecret('speech-key', {
      status: 429,
      code: 'Throttled',
      message:
        'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
      headers: { 'Retry-After': '30' },
    });
    expect((await token()).json).toMatchObject({ code: 'keyvault_throttled', retryAfterSeconds: 30 });
    const reads = h.vault.requests.byName['speech-key'];
    h.clock.now += 20_000;
    expect((await token()).json).toMatchObject({ code: 'keyvault_throttled' });
    expect(h.vault.requests.byName['speech-key']).toBe(reads);
  });

  it.each([
    [
      'ForbiddenByFirewall',
      'Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7\r\nVault: kv-fake;location=westeurope',
      'keyvault_network_restricted',
      /^The vault's firewall/,
    ],
    [
      'ForbiddenByConnection',
      'Public network access is disabled and request is not from a trusted service nor via an approved private link.',
      'keyvault_network_restricted',
      /^The vault takes no public traffic/,
    ],
    [
      'ForbiddenByPolicy',
      "The user, group or application 'appid=00000000-0000-0000-0000-000000000001' does not have secrets get permission on key vault 'kv-fake;location=westeurope'.",
      'keyvault_access_policy_missing',
      /access policies/,
    ],
  ])('Key Vault 403 %s gets its own code and fix', async (innerCode, message, code, fix) => {
    h.vault.answerSecret('speech-key', { status: 403, code: 'Forbidden', message, innerCode });
    expect((await token()).json).toMatchObject({ status: 502, code });
    const line = lastRequestLine();
    expect(line.fix).toMatch(fix);
    expect(String(line.diagnosis)).not.toMatch(/[\r\n]/);
    expect(await doctorFinding('speech')).toMatchObject({ cause: code, fix: expect.stringMatching(fix) });
  });

  it('Key Vault 401 AKV10032 names the tenant mismatch', async () => {
    h.vault.answerSecret('speech-key', {
      status: 401,
      code: 'Unauthorized',
      message:
        'AKV10032: Invalid issuer. Expected one of https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/.',
    });
    expect((await token()).json).toMatchObject({ code: 'keyvault_wrong_tenant' });
  });

  it.each([
    [
      'key authentication disabled',
      '{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}',
      'local_auth_disabled',
    ],
    [
      'network rules with the regional endpoint',
      '{"error":{"code":"403","message":"A Virtual Network is configured for this resource. Please use the correct endpoint for making requests. Check https://aka.ms/cogsvc-vnet for more details."}}',
      'custom_subdomain_required',
    ],
    [
      'the resource firewall',
      '{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}',
      'network_restricted',
    ],
  ])('STS 403 for %s gets its own code', async (_, body, code) => {
    h.cognitive.script('*', { status: 403, body });
    expect((await token()).json).toMatchObject({ status: 502, code });
    expect(String(lastRequestLine().fix)).not.toMatch(/vend Entra tokens/);
  });

  it('STS 404 is sts_not_found, not a bad request', async () => {
    h.cognitive.script('*', { status: 404, body: '{"error":{"code":"404","message":"Resource not found"}}' });
    expect((await token()).json).toMatchObject({ code: 'sts_not_found' });
  });

  it("an unknown refusal keeps the generic code, and the log line carries the upstream's own code", async () => {
    h.cognitive.script('*', { status: 403, body: '{"error":{"code":"AccountSuspended","message":"Suspended."}}' });
    expect((await token()).json).toMatchObject({ code: 'sts_forbidden' });
    expect(lastRequestLine()).toMatchObject({ code: 'sts_forbidden', upstreamCode: 'AccountSuspended' });
  });
});

describe('3. identity settings: no caller could get through', () => {
  it('the doctor checks discovery for the tenant and exits non-zero when it fails', async () => {
    h.env.AUTH_AUTHORITY_HOST = 'http://127.0.0.1:9';
    const findings = await diagnose(h.env, doctorDependencies());
    expect(findings[0]).toMatchObject({ resource: CALLERS, ok: false, cause: 'identity_provider_unavailable' });
  });
});

describe('4. a refused caller token says which claim failed and with what value', () => {
  it('aud: the received audience, the accepted list and the v1/v2 hint in the log; the claim only in the body', async () => {
    const refused = await h.call('GET', '/api/token/speech', {
      authorization: `Bearer ${await h.callerToken({ aud: 'api://someone-else', ver: '2.0' })}`,
    });
    expect(refused.status).toBe(401);
    const { detail } = refused.json as { detail: string };
    expect(detail).toContain('audience (aud)');
    expect(detail).not.toContain('api://token-vending');
    expect(String(lastRequestLine().diagnosis)).toMatch(
      /claim "aud" is "api:\/\/someone-else", accepted: api:\/\/token-vending \(a v2\.0 token; v1\.0 tokens carry the App ID URI/,
    );
  });

  it('iss: received and expected', async () => {
    await h.call('GET', '/api/token/speech', {
      authorization: `Bearer ${await h.callerToken({ iss: 'https://login.microsoftonline.com/other/v2.0' })}`,
    });
    expect(String(lastRequestLine().diagnosis)).toMatch(
      /claim "iss" is "https:\/\/login\.microsoftonline\.com\/other\/v2\.0", accepted: /,
    );
  });

  it('exp: the claim time, the server time and the difference, with a clock hint when it is small', async () => {
    const exp = Math.floor(h.clock.now / 1000) - 120;
    const refused = await h.call('GET', '/api/token/speech', {
      authorization: `Bearer ${await h.callerToken({ exp })}`,
    });
    expect((refused.json as { detail: string }).detail).toContain('expired (exp)');
    const diagnosis = String(lastRequestLine().diagnosis);
    expect(diagnosis).toContain(`claim "exp" is ${new Date(exp * 1000).toISOString()}`);
    expect(diagnosis).toContain(`server time ${new Date(h.clock.now).toISOString()}`);
    expect(diagnosis).toMatch(/points at a clock/);
  });

  it('nbf: a token from the future says so', async () => {
    const nbf = Math.floor(h.clock.now / 1000) + 600;
    await h.call('GET', '/api/token/speech', { authorization: `Bearer ${await h.callerToken({ nbf })}` });
    expect(String(lastRequestLine().diagnosis)).toContain(`claim "nbf" is ${new Date(nbf * 1000).toISOString()}`);
  });
});

describe('5. the doctor names a 404 from a Speech path', () => {
  it('a subdomain configured with privateEndpoint that has none: speech_endpoint_not_found', async () => {
    const resources = JSON.parse(h.env.TOKEN_RESOURCES ?? '[]') as Record<string, unknown>[];
    h.env.TOKEN_RESOURCES = JSON.stringify(
      resources.map((r) => (r.name === 'speech-custom' ? { ...r, privateEndpoint: true } : r)),
    );
    const finding = await doctorFinding('speech-custom');
    expect(finding).toMatchObject({ ok: false, cause: 'speech_endpoint_not_found' });
    expect(finding.fix).toMatch(/"privateEndpoint": false/);
  });
});
