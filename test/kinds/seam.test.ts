import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/doctor/diagnose.js';
import type { CredentialKind } from '../../src/kinds/kind.js';
import { BUILT_IN_KINDS } from '../../src/kinds/registry.js';
import type { TokenResource } from '../../src/model.js';
import { expectNoKeys, RESOURCES, startHarness, type Harness } from '../support/harness.js';

// A kind that exists only in this test, registered beside the built-in ones and nowhere else: if
// it works through the real flow (settings, authentication, authorization, rate limit, the kind's
// minting with the shared Key Vault step, answers, resources list, doctor), a new kind is one
// module plus its registration.

interface LetterResource extends TokenResource {
  readonly kind: 'letter';
  readonly greeting: string;
}

const LETTER_KEY = 'c0ffee00c0ffee00c0ffee00c0ffee00';

function letterKind(mints: { resource: string; keyLast4: string }[]): CredentialKind<LetterResource> {
  return {
    names: ['letter'],
    aliases: { 'letter-service': 'letter' },
    fields: ['secretName', 'greeting'],
    sharedBetweenCallers: false,
    upstream: 'letter',
    parseResource(common, raw, checks) {
      const greeting = typeof raw.greeting === 'string' ? raw.greeting.trim() : '';
      const secretName = typeof raw.secretName === 'string' ? raw.secretName : '';
      if (!greeting) checks.fail('"greeting" is required for a letter resource');
      if (!secretName) checks.fail('"secretName" is required');
      if (!greeting || !secretName) return undefined;
      if (greeting.length > 20) checks.warn('"greeting" is long');
      return { ...common, kind: 'letter', region: null, endpoint: null, privateEndpoint: false, secretName, greeting };
    },
    clientView: (resource) => ({
      region: null,
      endpoints: { letters: `https://letters.example/${resource.name}` },
      headers: {},
    }),
    classifyAnswer: () => ({ kind: 'credential', value: 'unused' }),
    bind(steps) {
      return {
        async mint(resource) {
          const secret = await steps.secrets.getSecret(resource.secretName);
          mints.push({ resource: resource.name, keyLast4: secret.value.slice(-4) });
          const issuedAt = steps.now();
          return { token: `${resource.greeting}-${mints.length}`, issuedAt, expiresAt: issuedAt + 60_000 };
        },
        probe: (resource) =>
          Promise.resolve({
            resource: resource.name,
            ok: true,
            cause: null,
            detail: `wrote to ${resource.greeting}`,
            fix: null,
          }),
      };
    },
  };
}

const LETTERS = {
  name: 'letters',
  kind: 'Letter-Service',
  secretName: 'letter-key',
  greeting: 'hello',
  allowedRoles: ['Letters.Write'],
};

let h: Harness;
let mints: { resource: string; keyLast4: string }[];
beforeEach(async () => {
  mints = [];
  h = await startHarness({ dependencies: { kinds: [...BUILT_IN_KINDS, letterKind(mints)] } });
  h.vault.setSecret('letter-key', LETTER_KEY);
  h.rebuild({ TOKEN_RESOURCES: JSON.stringify([...RESOURCES, LETTERS]), RATE_LIMIT_PER_MINUTE: '2' });
});
afterEach(async () => {
  await h.close();
  expectNoKeys(h.logText());
  expect(h.logText()).not.toContain(LETTER_KEY);
});

const caller = (oid: string, roles = ['Letters.Write']) => h.callerToken({ oid, roles, scp: undefined });

describe('a credential kind registered in a test alone', () => {
  it('mints through the real flow: its own fields, the shared Key Vault step, its endpoints in the answer', async () => {
    const answer = await h.call('GET', '/api/token/letters', { authorization: `Bearer ${await caller('a')}` });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      accessToken: 'hello-1',
      tokenType: 'Bearer',
      expiresInSeconds: 60,
      resource: 'letters',
      kind: 'letter',
      region: null,
      endpoints: { letters: 'https://letters.example/letters' },
    });
    expect(mints).toEqual([{ resource: 'letters', keyLast4: LETTER_KEY.slice(-4) }]);
  });

  it('is never shared between callers when the kind says so: one mint per request', async () => {
    const first = await h.call('GET', '/api/token/letters', { authorization: `Bearer ${await caller('a')}` });
    const second = await h.call('GET', '/api/token/letters', { authorization: `Bearer ${await caller('b')}` });
    expect([first.json, second.json]).toMatchObject([{ accessToken: 'hello-1' }, { accessToken: 'hello-2' }]);
    expect(mints).toHaveLength(2);
  });

  it('goes through authorization and the rate limit before any mint', async () => {
    const stranger = await h.call('GET', '/api/token/letters', {
      authorization: `Bearer ${await caller('c', ['Speech.Token'])}`,
    });
    expect(stranger.status).toBe(403);
    const token = await caller('d');
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await h.call('GET', '/api/token/letters', { authorization: `Bearer ${token}` })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(mints).toHaveLength(2);
  });

  it('is listed to callers who may use it, with its endpoints', async () => {
    const list = await h.call('GET', '/api/resources', { authorization: `Bearer ${await caller('e')}` });
    expect(list.json).toEqual({
      resources: [
        {
          name: 'letters',
          kind: 'letter',
          cloud: 'AzureCloud',
          region: null,
          endpoints: { letters: 'https://letters.example/letters' },
          headers: {},
        },
      ],
    });
  });

  it('has its start-up checks reported like any setting, and its warnings logged once', async () => {
    h.rebuild({ TOKEN_RESOURCES: JSON.stringify([{ ...LETTERS, greeting: ' ', color: 'red' }]) });
    const refused = await h.call('GET', '/api/token/letters', { authorization: `Bearer ${await caller('f')}` });
    expect(refused.status).toBe(503);
    expect(h.services.configurationError?.problems.map((p) => p.message)).toEqual([
      'unknown field "color"; the fields are name, kind, cloud, secretName, greeting, allowedRoles, allowedScopes, resourceId, callerLimitPerMinute',
      '"greeting" is required for a letter resource',
    ]);
    h.rebuild({
      TOKEN_RESOURCES: JSON.stringify([{ ...LETTERS, greeting: 'a greeting of more than twenty letters' }]),
    });
    expect(h.logText()).toContain('"greeting" is long');
  });

  it('is probed by the doctor with its own probe', async () => {
    const findings = await diagnose({ ...h.env }, h.dependencies);
    expect(findings.find((f) => f.resource === 'letters')).toEqual({
      resource: 'letters',
      ok: true,
      cause: null,
      detail: 'wrote to hello',
      fix: null,
    });
  });
});
