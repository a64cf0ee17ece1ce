import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../devstack/repository.js';
import { AUDIENCE, RESOURCES, startHarness, TENANT_ID, type Harness } from '../support/harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe('GET /api/openapi.json', () => {
  it('answers the built document anonymously, revalidated by a content-hash ETag', async () => {
    const response = await h.call('GET', '/api/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache');
    const hash = createHash('sha256').update(response.body).digest('base64url');
    expect(response.headers.etag).toBe(`"${hash}"`);
    // The same bytes npm run build wrote, which is what the deployment package carries.
    expect(response.body).toBe(readFileSync(join(repositoryRoot(), 'dist', 'bundle', 'openapi.json'), 'utf8'));
    expect(response.json).toMatchObject({ openapi: '3.1.1', paths: { '/api/openapi.json': {} } });
  });

  it.each([
    ['the same ETag', (etag: string) => etag],
    ['its weak form', (etag: string) => `W/${etag}`],
    ['a list holding it', (etag: string) => `"other", ${etag}`],
    ['*', () => '*'],
  ])('304 without a body for If-None-Match with %s', async (_, ifNoneMatch) => {
    const etag = (await h.call('GET', '/api/openapi.json')).headers.etag ?? '';
    const again = await h.call('GET', '/api/openapi.json', { 'if-none-match': ifNoneMatch(etag) });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    expect(again.headers['cache-control']).toBe('no-cache');
  });

  it('200 for an If-None-Match naming another version', async () => {
    const response = await h.call('GET', '/api/openapi.json', { 'if-none-match': '"an-older-version"' });
    expect(response.status).toBe(200);
    expect(response.body.length).toBeGreaterThan(1000);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])(
    '%s: 405 method_not_allowed with Allow: GET',
    async (method) => {
      const response = await h.call(method, '/api/openapi.json');
      expect(response.status).toBe(405);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.headers.allow).toBe('GET');
      expect(response.json).toMatchObject({ status: 405, code: 'method_not_allowed', title: 'Method not allowed' });
    },
  );

  it('holds no configuration: no tenant, audience, vault or secret, and the same whatever the settings', async () => {
    const before = await h.call('GET', '/api/openapi.json');
    for (const configured of [TENANT_ID, AUDIENCE, h.vault.vaultUrl, h.entra.authorityHost])
      expect(before.body).not.toContain(configured);
    for (const resource of RESOURCES) expect(before.body).not.toContain(resource.secretName);
    h.rebuild({ TOKEN_RESOURCES: '[{"name":"x"}]', AUTH_TENANT_ID: 'not-a-guid' });
    const after = await h.call('GET', '/api/openapi.json');
    expect(after.status).toBe(200);
    expect(after.headers.etag).toBe(before.headers.etag);
  });
});
