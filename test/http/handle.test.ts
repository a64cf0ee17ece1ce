import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { VendingError } from '../../src/errors/serviceError.js';
import { handleJson } from '../../src/http/handle.js';

const logs: string[] = [];
const context = () =>
  new InvocationContext({
    invocationId: 'b7a1c2d3-0000-4000-8000-000000000001',
    logHandler: (_, ...args) => logs.push(args.join(' ')),
  });
const request = () => new HttpRequest({ method: 'GET', url: 'http://localhost/api/x' });

// Answers are typed by the schemas the OpenAPI document is built from, and not parsed again per
// request: every wire test checks each answer against the document (test/support/contract.ts).
describe('handleJson', () => {
  it('answers 200 with the JSON of the typed answer, never cached', async () => {
    const handler = handleJson('resources', () => Promise.resolve({ resources: [] }));
    const response = await handler(request(), context());
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body as string)).toEqual({ resources: [] });
    expect(response.headers).toMatchObject({ 'Cache-Control': 'no-store' });
  });

  it('answers a thrown error as its problem, and an unknown one as 500 internal_error named in the log only', async () => {
    const refused = handleJson('token', () =>
      Promise.reject(new VendingError('forbidden', 'no', { detail: 'Not for you.' })),
    );
    expect((await refused(request(), context())).status).toBe(403);
    const broken = handleJson('token', () => Promise.reject(new TypeError('expiresOn is not a date')));
    const response = await broken(request(), context());
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body as string)).toMatchObject({ code: 'internal_error' });
    expect(response.body).not.toContain('expiresOn');
    expect(logs.join('\n')).toContain('expiresOn');
  });
});
