import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot, startLocalStack, STACK_KEYS, type LocalStack } from '../../devstack/localStack.js';
import { fetchConforming } from '../support/contract.js';

const hostScript = join(repositoryRoot(), 'dist', 'devstack', 'host', 'main.js');

describe('npm run dev with invalid settings', () => {
  it('exits non-zero printing every problem, naming setting and resource', () => {
    const directory = mkdtempSync(join(tmpdir(), 'host-settings-'));
    const settings = join(directory, 'local.settings.json');
    writeFileSync(
      settings,
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
    const result = spawnSync(process.execPath, [hostScript, '--settings', settings], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 15_000,
    });
    rmSync(directory, { recursive: true, force: true });
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
    const directory = mkdtempSync(join(tmpdir(), 'host-settings-'));
    const settings = join(directory, 'local.settings.json');
    writeFileSync(settings, '{ "Values": ');
    const result = spawnSync(process.execPath, [hostScript, '--settings', settings], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
      timeout: 15_000,
    });
    rmSync(directory, { recursive: true, force: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/local.settings.json is not valid JSON/);
  });
});

describe('the local host against the fakes', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ corsOrigins: ['http://127.0.0.1:5999'] });
  });
  afterAll(async () => {
    await stack.stop();
    const output = stack.hostOutput.join('\n');
    for (const key of Object.values(STACK_KEYS)) expect(output).not.toContain(key);
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
