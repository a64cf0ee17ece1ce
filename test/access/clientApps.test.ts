import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_CLIENT_APP_ID } from '../../devstack/fakes/entra.js';
import { expectNoKeys, startHarness, TENANT_ID, type Harness } from '../support/harness.js';

// "Client apps": with AUTH_ALLOWED_CLIENT_APPS set, a token that another client application
// obtained (a third-party multi-tenant app the tenant consented to, say) gets 403 forbidden on
// every route that authenticates, naming that application in the operator's diagnosis.

const OTHER_APP = '9d2c4b1a-7e6f-4a3b-8c2d-1e0f9a8b7c6d';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  // In another case than the tokens carry: client IDs are GUIDs, compared in any case.
  h.rebuild({
    AUTH_ALLOWED_CLIENT_APPS: ` ${FAKE_CLIENT_APP_ID.toUpperCase()} , 11111111-2222-4333-8444-555555555555`,
  });
});
afterEach(async () => {
  expectNoKeys(h.logText());
  await h.close();
});

const lastRequestLine = () => h.events('request').at(-1);

const v1 = (appid: string) => ({ iss: `https://sts.windows.net/${TENANT_ID}/`, ver: '1.0', appid, azp: undefined });

describe('AUTH_ALLOWED_CLIENT_APPS', () => {
  it('a listed client application is served (v2.0 azp, v1.0 appid)', async () => {
    const v2 = await h.callerToken();
    expect((await h.call('GET', '/api/token/speech', { authorization: `Bearer ${v2}` })).status).toBe(200);
    const v1Token = await h.callerToken(v1(FAKE_CLIENT_APP_ID));
    expect((await h.call('GET', '/api/token/speech', { authorization: `Bearer ${v1Token}` })).status).toBe(200);
  });

  it.each([
    ['a v2.0 token from another app (azp)', { azp: OTHER_APP }],
    ['a v1.0 token from another app (appid)', v1(OTHER_APP)],
    [
      'another app with a role that would grant the resource',
      { azp: OTHER_APP, roles: ['Speech.Token', 'TokenVending.Operator'] },
    ],
  ])('%s: 403 forbidden on the token route, naming the app in the diagnosis', async (_, claims) => {
    const token = await h.callerToken(claims);
    const refused = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` });
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
    expect(refused.json).toMatchObject({ code: 'forbidden' });
    expect(refused.body).not.toContain(OTHER_APP);
    expect(lastRequestLine()).toMatchObject({
      status: 403,
      code: 'forbidden',
      clientApp: OTHER_APP,
      diagnosis: expect.stringContaining(
        `client application ${OTHER_APP}, which is not in AUTH_ALLOWED_CLIENT_APPS`,
      ) as unknown,
    });
    expect(h.cognitive.stsCalls()).toBe(0);
  });

  it('the resources list and the status view refuse another app too', async () => {
    const token = await h.callerToken({ azp: OTHER_APP, roles: ['Speech.Token', 'TokenVending.Operator'] });
    for (const path of ['/api/resources', '/api/status']) {
      const refused = await h.call('GET', path, { authorization: `Bearer ${token}` });
      expect([path, refused.status, (refused.json as { code: string }).code]).toEqual([path, 403, 'forbidden']);
      expect(String(lastRequestLine()?.diagnosis)).toContain(`client application ${OTHER_APP}`);
    }
    const allowed = await h.callerToken({ roles: ['Speech.Token', 'TokenVending.Operator'] });
    for (const path of ['/api/resources', '/api/status']) {
      expect((await h.call('GET', path, { authorization: `Bearer ${allowed}` })).status).toBe(200);
    }
  });

  it('unset (or blank): any client application, as before', async () => {
    h.rebuild({ AUTH_ALLOWED_CLIENT_APPS: '  ' });
    const token = await h.callerToken({ azp: OTHER_APP });
    expect((await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('a value that is not a client ID is a configuration problem naming the setting', async () => {
    h.rebuild({ AUTH_ALLOWED_CLIENT_APPS: `${FAKE_CLIENT_APP_ID},my-spa` });
    const token = await h.callerToken();
    const refused = await h.call('GET', '/api/token/speech', { authorization: `Bearer ${token}` });
    expect(refused.json).toMatchObject({ code: 'configuration_invalid' });
    expect(h.services.configurationError?.problems).toEqual([
      expect.objectContaining({
        setting: 'AUTH_ALLOWED_CLIENT_APPS',
        message: expect.stringContaining('"my-spa" is not an application (client) ID') as unknown,
      }),
    ]);
  });
});
