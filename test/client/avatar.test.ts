/**
 * `getAvatarIceServers` against a scripted relay at the fetch boundary: the shapes of its answer.
 * The relay in the Speech fake, reached through the service, is test/functions/newerCauses.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { getAvatarIceServers, parseVendedToken, type FetchLike } from '../../packages/client/src/index.js';

const RELAY = 'https://westeurope.tts.speech.microsoft.com/cognitiveservices/avatar/relay/token/v1';

const speechToken = parseVendedToken({
  accessToken: 'eyJ0eXAiOiJKV1QifQ.e30.sig',
  tokenType: 'Bearer',
  expiresOn: new Date(Date.now() + 600_000).toISOString(),
  expiresInSeconds: 600,
  resource: 'speech',
  kind: 'speech',
  cloud: 'AzureCloud',
  region: 'westeurope',
  endpoints: { avatarRelay: RELAY },
  headers: {},
});

function relayAnswering(status: number, body: string): { fetch: FetchLike; asked: { url: string; auth: string }[] } {
  const asked: { url: string; auth: string }[] = [];
  const fetch: FetchLike = (url, init) => {
    asked.push({ url, auth: new Headers(init.headers).get('authorization') ?? '' });
    return Promise.resolve(new Response(body, { status, headers: { 'content-type': 'application/json' } }));
  };
  return { fetch, asked };
}

describe('getAvatarIceServers', () => {
  it('asks the relay with the vended token and returns its TURN server as an RTCIceServer', async () => {
    const relay = relayAnswering(
      200,
      JSON.stringify({ Urls: ['turn:relay.communication.microsoft.com:3478'], Username: 'u', Password: 'p' }),
    );
    expect(await getAvatarIceServers(speechToken, { fetch: relay.fetch })).toEqual([
      { urls: ['turn:relay.communication.microsoft.com:3478'], username: 'u', credential: 'p' },
    ]);
    expect(relay.asked).toEqual([{ url: RELAY, auth: `Bearer ${speechToken.accessToken}` }]);
  });

  it.each([
    ['not JSON', 'Service Unavailable'],
    ['a JSON array', '[]'],
    ['no URLs', JSON.stringify({ Urls: [], Username: 'u', Password: 'p' })],
    ['URLs that are not strings', JSON.stringify({ Urls: [1], Username: 'u', Password: 'p' })],
    ['no password', JSON.stringify({ Urls: ['turn:relay.example:3478'], Username: 'u' })],
    ['null', 'null'],
  ])('an answer with %s is invalid_response', async (_, body) => {
    await expect(getAvatarIceServers(speechToken, { fetch: relayAnswering(200, body).fetch })).rejects.toMatchObject({
      code: 'invalid_response',
      status: 200,
    });
  });

  it('a refusal is http_<status>, and the message does not carry the token', async () => {
    const refused = getAvatarIceServers(speechToken, { fetch: relayAnswering(401, '').fetch });
    await expect(refused).rejects.toMatchObject({ code: 'http_401', status: 401 });
    await expect(refused).rejects.not.toThrow(speechToken.accessToken);
  });
});
