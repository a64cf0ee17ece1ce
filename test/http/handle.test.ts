import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleJson } from '../../src/http/handle.js';
import { resourceListSchema, vendedTokenSchema } from '../../src/model.js';

const logs: string[] = [];
const context = () =>
  new InvocationContext({
    invocationId: 'b7a1c2d3-0000-4000-8000-000000000001',
    logHandler: (_, ...args) => logs.push(args.join(' ')),
  });
const request = () => new HttpRequest({ method: 'GET', url: 'http://localhost/api/x' });

describe('handleJson: answers leave through their schema', () => {
  it('drops a field the schema does not declare', async () => {
    const answer = { resources: [], secretName: 'speech-key' };
    const handler = handleJson('resources', resourceListSchema, () => Promise.resolve(answer));
    const response = await handler(request(), context());
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body as string)).toEqual({ resources: [] });
  });

  it('refuses a value the schema does not allow with 500 internal_error, naming the field in the log only', async () => {
    const handler = handleJson('token', vendedTokenSchema, () =>
      Promise.resolve({
        accessToken: 'eyJ0',
        tokenType: 'Bearer',
        expiresOn: 'soon',
        expiresInSeconds: 1,
        resource: 'speech',
        kind: 'speech',
        cloud: 'AzureCloud',
        region: 'westeurope',
        endpoints: {},
        headers: {},
      } as const),
    );
    const response = await handler(request(), context());
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body as string)).toMatchObject({ code: 'internal_error' });
    expect(response.body).not.toContain('expiresOn');
    expect(logs.join('\n')).toContain('expiresOn');
  });
});
