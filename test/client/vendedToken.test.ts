import { describe, expect, it } from 'vitest';
import { parseVendedToken, requestHeaders } from '../../packages/client/src/index.js';
import { tokenBody } from './fakeApi.js';

describe('headers beside the token', () => {
  it('a multi-service token says which endpoint needs which header, and requestHeaders adds it', () => {
    const token = parseVendedToken({
      ...tokenBody('a'),
      kind: 'cognitive',
      endpoints: {
        text: 'https://api.cognitive.microsofttranslator.com',
        base: 'https://eastus.api.cognitive.microsoft.com',
      },
      headers: { text: { 'Ocp-Apim-Subscription-Region': 'eastus' } },
    });
    expect(requestHeaders(token, 'text')).toEqual({
      Authorization: 'Bearer ai-token-a',
      'Ocp-Apim-Subscription-Region': 'eastus',
    });
    expect(requestHeaders(token, 'base')).toEqual({ Authorization: 'Bearer ai-token-a' });
  });

  it('an API that sends no headers, or entries that are not string maps, leaves only what it can use', () => {
    const older: Partial<ReturnType<typeof tokenBody>> = tokenBody('a');
    delete older.headers;
    expect(parseVendedToken(older).headers).toEqual({});
    const odd = parseVendedToken({ ...tokenBody('a'), headers: { text: 'x', stt: { A: 'b', C: 3 } } });
    expect(odd.headers).toEqual({ stt: { A: 'b' } });
  });
});
