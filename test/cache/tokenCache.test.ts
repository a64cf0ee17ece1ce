import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../src/cache/tokenCache.js';
import { expiryOf } from '../../src/kinds/sts/keyExchange.js';
import type { MintedCredential, TokenResource } from '../../src/model.js';

const resource: TokenResource = {
  name: 'speech',
  kind: 'speech',
  cloud: 'AzureCloud',
  region: 'westeurope',
  endpoint: null,
  privateEndpoint: false,
  secretName: 'speech-key',
  allowedRoles: ['R'],
  allowedScopes: [],
  resourceId: null,
};

function jwtWithExp(expSeconds: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256' })}.${encode({ exp: expSeconds })}.sig`;
}

/** A controllable upstream: each refresh waits until the test settles it. */
function upstream(clock: { now: number }) {
  const pending: { resolve: (t: MintedCredential) => void; reject: (e: unknown) => void }[] = [];
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    refresh: () => {
      calls++;
      return new Promise<MintedCredential>((resolve, reject) => pending.push({ resolve, reject }));
    },
    succeed(token = jwtWithExp(clock.now / 1000 + 600)) {
      const issued = { token, issuedAt: clock.now };
      pending.shift()?.resolve({ ...issued, expiresAt: expiryOf(issued) });
    },
    fail(error: unknown) {
      pending.shift()?.reject(error);
    },
  };
}

async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('TokenCache', () => {
  it('joins every concurrent cold caller onto one refresh', async () => {
    const clock = { now: 1_700_000_000_000 };
    const up = upstream(clock);
    const cache = new TokenCache({ refresh: up.refresh, now: () => clock.now });
    const callers = Array.from({ length: 300 }, () => cache.get(resource));
    await flush();
    up.succeed();
    const tokens = await Promise.all(callers);
    expect(up.calls).toBe(1);
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
  });

  it('takes expiry from the token exp claim', async () => {
    const clock = { now: 1_700_000_000_000 };
    const up = upstream(clock);
    const cache = new TokenCache({ refresh: up.refresh, now: () => clock.now });
    const pending = cache.get(resource);
    await flush();
    up.succeed(jwtWithExp(clock.now / 1000 + 300));
    expect((await pending).expiresAt).toBe(clock.now + 300_000);
  });

  it('serves the cached token, refreshes in the background ahead of expiry, then swaps', async () => {
    const clock = { now: 1_700_000_000_000 };
    const up = upstream(clock);
    const cache = new TokenCache({ refresh: up.refresh, now: () => clock.now });
    const first = cache.get(resource);
    await flush();
    up.succeed();
    const token1 = await first;

    clock.now += 7 * 60_000; // 3 minutes left: still fresh
    expect(await cache.get(resource)).toBe(token1);
    expect(up.calls).toBe(1);

    clock.now += 90_000; // 90 s left: inside the refresh-ahead window
    expect(await cache.get(resource)).toBe(token1);
    expect(await cache.get(resource)).toBe(token1);
    expect(up.calls).toBe(2); // one background refresh, shared
    up.succeed();
    await flush();
    const token2 = await cache.get(resource);
    expect(token2).not.toBe(token1);
    expect(token2.expiresAt).toBe(clock.now + 600_000);
  });

  it('keeps serving a still-valid token when a refresh fails, and never an expired one', async () => {
    const clock = { now: 1_700_000_000_000 };
    const up = upstream(clock);
    const backgroundErrors: unknown[] = [];
    const cache = new TokenCache({
      refresh: up.refresh,
      now: () => clock.now,
      failureCooldownMs: 0,
      onBackgroundRefreshError: (_, error) => backgroundErrors.push(error),
    });
    const first = cache.get(resource);
    await flush();
    up.succeed();
    const token1 = await first;

    clock.now += 9.5 * 60_000; // 30 s left: callers wait for a refresh...
    const during = cache.get(resource);
    await flush();
    up.fail(new Error('sts down'));
    expect(await during).toBe(token1); // ...which fails, so the still-valid token is served

    clock.now += 26_000; // 4 s left: too close to hand out
    const late = cache.get(resource);
    await flush();
    up.fail(new Error('sts still down'));
    await expect(late).rejects.toThrow('sts still down');
    expect(backgroundErrors).toEqual([]);
  });

  it('reports background refresh failures and recovers', async () => {
    const clock = { now: 1_700_000_000_000 };
    const up = upstream(clock);
    const backgroundErrors: unknown[] = [];
    const cache = new TokenCache({
      refresh: up.refresh,
      now: () => clock.now,
      onBackgroundRefreshError: (_, e) => backgroundErrors.push(e),
    });
    const first = cache.get(resource);
    await flush();
    up.succeed();
    await first;
    clock.now += 8.5 * 60_000;
    await cache.get(resource);
    up.fail(new Error('blip'));
    await flush();
    expect(backgroundErrors).toHaveLength(1);
  });

  it('answers from a short failure cooldown instead of calling upstream for every caller', async () => {
    const clock = { now: 1_700_000_000_000 };
    const up = upstream(clock);
    const cache = new TokenCache({ refresh: up.refresh, now: () => clock.now, failureCooldownMs: 2000 });
    const first = cache.get(resource);
    await flush();
    up.fail(new Error('key rejected'));
    await expect(first).rejects.toThrow('key rejected');
    await expect(cache.get(resource)).rejects.toThrow('key rejected');
    expect(up.calls).toBe(1);
    clock.now += 2001;
    const retry = cache.get(resource);
    await flush();
    expect(up.calls).toBe(2);
    up.succeed();
    await expect(retry).resolves.toMatchObject({ issuedAt: clock.now });
  });
});

describe('expiryOf', () => {
  const issuedAt = 1_700_000_000_000;
  it.each([
    ['an opaque token', 'opaque-token', issuedAt + 600_000],
    [
      'a JWT without exp',
      `${Buffer.from('{}').toString('base64url')}.${Buffer.from('{"region":"x"}').toString('base64url')}.s`,
      issuedAt + 600_000,
    ],
    ['an exp in the past (the classifier refuses it first)', jwtWithExp(issuedAt / 1000 - 10), issuedAt - 10_000],
    ['an exp a day away: never past 10 minutes', jwtWithExp(issuedAt / 1000 + 86_400), issuedAt + 600_000],
    ['an exp 14 minutes away: never past 10 minutes', jwtWithExp(issuedAt / 1000 + 840), issuedAt + 600_000],
    ['a garbage payload', 'a.!!!.c', issuedAt + 600_000],
    ['a plausible exp', jwtWithExp(issuedAt / 1000 + 599), issuedAt + 599_000],
  ])('%s', (_, token, expected) => {
    expect(expiryOf({ token, issuedAt })).toBe(expected);
  });
});
