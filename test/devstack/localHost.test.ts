import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalHost } from '../../devstack/host/localHost.js';
import * as app from '../../src/app.js';
import { repositoryRoot, startLocalStack, STACK_KEYS, type LocalStack } from '../../devstack/localStack.js';
import { fetchConforming } from '../support/contract.js';

const hostScript = join(repositoryRoot(), 'dist', 'devstack', 'host', 'main.js');

/** Starts the local host with this local.settings.json text and waits for it to give up. */
function hostWithSettings(text: string) {
  const directory = mkdtempSync(join(tmpdir(), 'host-settings-'));
  const settings = join(directory, 'local.settings.json');
  writeFileSync(settings, text);
  try {
    return spawnSync(process.execPath, [hostScript, '--settings', settings], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 15_000,
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

describe('npm run dev with invalid settings', () => {
  it('exits non-zero printing every problem, naming setting and resource', () => {
    const result = hostWithSettings(
      JSON.stringify({
        Values: {
          AUTH_TENANT_ID: 'contoso.onmicrosoft.com',
          KEY_VAULT_URI: 'https://kv.vault.azure.net',
          TOKEN_RESOURCES: JSON.stringify([
            { name: 'speech', kind: 'speech', region: 'chinaeast2', secretName: 'speech-key', allowedRoles: ['R'] },
            { name: 'tr', kind: 'translator', region: 'westeruope', secretName: 'tr-key', allowedScopes: ['S'] },
          ]),
        },
      }),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (4 problems)');
    expect(result.stderr).toContain('AUTH_TENANT_ID: must be the tenant GUID');
    expect(result.stderr).toContain('AUTH_AUDIENCES: is required');
    expect(result.stderr).toContain(
      'TOKEN_RESOURCES resource "speech": region "chinaeast2" belongs to AzureChinaCloud',
    );
    expect(result.stderr).toContain(
      'TOKEN_RESOURCES resource "tr": unknown region "westeruope" for a translator resource in AzureCloud; did you mean "westeurope"?',
    );
  });

  it('refuses a local.settings.json that is not JSON', () => {
    const result = hostWithSettings('{ "Values": ');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/local.settings.json is not valid JSON/);
  });
});

describe('npm run dev with Host.CORS "*" and credentials', () => {
  it('refuses to start, saying why', () => {
    const result = hostWithSettings(JSON.stringify({ Values: {}, Host: { CORS: '*', CORSCredentials: true } }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Host.CORS "*" with Host.CORSCredentials true is refused');
    expect(result.stderr).toContain("Azure's platform CORS refuses the same combination");
  });

  it('is refused by createLocalHost too, whoever passes it (the sandbox, a test)', () => {
    expect(() =>
      createLocalHost({ routes: [], app, corsOrigins: ['*'], corsCredentials: true, sink: () => undefined }),
    ).toThrow('is refused');
  });
});

/** One request written byte for byte, for what fetch would refuse to send. */
function rawRequest(apiUrl: string, head: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(apiUrl).port), '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [headers = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]), headers: headers.toLowerCase(), body });
    });
    socket.end(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

describe('the local host against the fakes', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ corsOrigins: ['http://127.0.0.1:5999'] });
  });
  afterAll(async () => {
    await stack.stop();
    const output = stack.hostOutput.join('\n');
    // The stack's keys, and every key its ARM fake made up.
    for (const key of [...Object.values(STACK_KEYS), ...stack.arm.everyKey()]) expect(output).not.toContain(key);
  });

  // Answers over HTTP go through fetchConforming: each must be what openapi.json says.
  it('serves a token over HTTP from the real Key Vault client and STS client', async () => {
    const response = await fetchConforming(`${stack.apiUrl}/token/speech`, {
      headers: { authorization: `Bearer ${await stack.callerToken()}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json as {
      accessToken: string;
      region: string | null;
      endpoints: Record<string, string>;
    };
    expect(body.region).toBeNull();
    expect(body.endpoints.base).toBe(stack.cognitive.url);
    expect(stack.vault.requests.byName['speech-key']).toBe(1);
  });

  it('answers unknown routes and methods with problem+json 404', async () => {
    const response = await fetchConforming(`${stack.apiUrl}/nope`);
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect((response.json as { code: string }).code).toBe('route_not_found');
    expect((await fetchConforming(`${stack.apiUrl}/health`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetchConforming(`${stack.apiUrl}/resources`)).status).toBe(401);
  });

  it('serves openapi.json, 304 on its ETag, and 405 with Allow: GET for every other method', async () => {
    const document = await fetchConforming(`${stack.apiUrl}/openapi.json`);
    expect(document.status).toBe(200);
    expect(document.headers['cache-control']).toBe('no-cache');
    const etag = document.headers.etag ?? '';
    expect(etag).toMatch(/^"[\w-]+"$/);
    const unchanged = await fetchConforming(`${stack.apiUrl}/openapi.json`, { headers: { 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBe('');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']) {
      const refused = await fetchConforming(`${stack.apiUrl}/openapi.json`, { method });
      expect(refused.status, method).toBe(405);
      expect(refused.headers.allow, method).toBe('GET');
      if (method !== 'HEAD') expect(refused.json, method).toMatchObject({ code: 'method_not_allowed' });
    }
  });

  it.each([
    ['a Host with a space', 'GET /api/health HTTP/1.1\r\nHost: a b'],
    ['a Host with a path', 'GET /api/health HTTP/1.1\r\nHost: a/b'],
    ['a Host with credentials', 'GET /api/health HTTP/1.1\r\nHost: user@127.0.0.1'],
    ['a Host with a port out of range', 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:99999'],
    ['the asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1'],
    ['an absolute target', 'GET http://elsewhere.example/api/health HTTP/1.1\r\nHost: 127.0.0.1'],
  ])('400 bad_request problem+json for %s, and no error line', async (_, head) => {
    const before = stack.hostOutput.length;
    const response = await rawRequest(stack.apiUrl, head);
    expect(response.status).toBe(400);
    expect(response.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({ status: 400, code: 'bad_request' });
    const lines = stack.hostOutput.slice(before).join('\n');
    expect(lines).not.toContain('local_host_failure');
    expect(lines).not.toContain('"level":"error"');
  });

  it('does not echo an unknown path', async () => {
    const response = await fetch(`${stack.apiUrl}/nope-${'%E2%80%AE'.repeat(100)}`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toMatch(/nope|\u202e|%E2/i);
  });

  it('logs each request under its own invocationId', async () => {
    const token = await stack.callerToken();
    for (let i = 0; i < 2; i++) {
      // A refusal is logged (a success is not): two of them, with one correlation id.
      await fetch(`${stack.apiUrl}/token/vision`, {
        headers: { authorization: `Bearer ${token}`, 'x-correlation-id': 'same-id' },
      });
    }
    await expect.poll(() => stack.hostOutput.filter((l) => l.includes('"correlationId":"same-id"')).length).toBe(2);
    const ids = stack.hostOutput
      .filter((l) => l.includes('"correlationId":"same-id"'))
      .map((l) => (JSON.parse(l) as { invocationId: string }).invocationId);
    expect(new Set(ids).size).toBe(2);
  });

  it('echoes Access-Control-Request-Headers only when it is a list of header names', async () => {
    const preflight = (requestHeaders: string) =>
      fetch(`${stack.apiUrl}/token/speech`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://127.0.0.1:5999',
          'access-control-request-method': 'GET',
          'access-control-request-headers': requestHeaders,
        },
      });
    const fine = await preflight('authorization, x-correlation-id');
    expect(fine.headers.get('access-control-allow-headers')).toBe('authorization, x-correlation-id');
    for (const odd of [
      'authorization; evil',
      'x'.repeat(200),
      Array.from({ length: 40 }, (_, i) => `h${i}`).join(','),
    ]) {
      const response = await preflight(odd);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-headers')).toBeNull();
    }
  });

  it('applies the Host.CORS allow-list like the platform does', async () => {
    const preflight = await fetch(`${stack.apiUrl}/token/speech`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:5999',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5999');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');
    const stranger = await fetchConforming(`${stack.apiUrl}/health`, { headers: { origin: 'https://evil.example' } });
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
    const friend = await fetchConforming(`${stack.apiUrl}/health`, { headers: { origin: 'http://127.0.0.1:5999' } });
    expect(friend.headers['access-control-allow-origin']).toBe('http://127.0.0.1:5999');
    expect(friend.headers['access-control-expose-headers']).toBe('Retry-After, X-Correlation-Id');
    // A preflight for the document is the platform's CORS answer, naming only the method it serves.
    const documentPreflight = await fetch(`${stack.apiUrl}/openapi.json`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:5999', 'access-control-request-method': 'GET' },
    });
    expect(documentPreflight.status).toBe(204);
    expect(documentPreflight.headers.get('access-control-allow-methods')).toBe('GET');
  });
});
