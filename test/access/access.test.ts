import { describe, expect, it } from 'vitest';
import { authorize, visibleResources } from '../../src/access/authorization.js';
import { RateLimiter } from '../../src/access/rateLimiter.js';
import type { Caller } from '../../src/auth/callerAuthentication.js';
import type { TokenResource } from '../../src/model.js';
import { VendingError } from '../../src/errors/serviceError.js';

const base = {
  kind: 'speech',
  cloud: 'AzureCloud',
  region: 'westeurope',
  endpoint: null,
  privateEndpoint: false,
  secretName: 's',
  resourceId: null,
} as const;
const resources: TokenResource[] = [
  { ...base, name: 'speech', allowedRoles: ['Speech.Token'], allowedScopes: [] },
  { ...base, name: 'translator', kind: 'translator', allowedRoles: [], allowedScopes: ['Translator.Use'] },
];
const caller = (roles: string[], scopes: string[]): Caller => ({
  id: 'oid-1',
  tenantId: 't',
  roles,
  scopes,
  clientAppId: 'client-app',
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as VendingError).code;
  }
  return undefined;
}

describe('authorize', () => {
  it('grants by app role or by delegated scope, and names are case-insensitive', () => {
    expect(authorize(caller(['Speech.Token'], []), resources, 'SPEECH').name).toBe('speech');
    expect(authorize(caller([], ['openid', 'Translator.Use']), resources, 'translator').name).toBe('translator');
  });

  it('refuses a caller without the role or scope (403) and an unknown resource (404)', () => {
    expect(codeOf(() => authorize(caller(['Other'], ['Speech.Token']), resources, 'speech'))).toBe('forbidden');
    expect(codeOf(() => authorize(caller(['Translator.Use'], []), resources, 'translator'))).toBe('forbidden');
    expect(codeOf(() => authorize(caller(['Speech.Token'], []), resources, 'vision'))).toBe('resource_not_found');
  });

  it('does not treat a role as a scope or the other way round', () => {
    expect(visibleResources(caller(['Translator.Use'], ['Speech.Token']), resources)).toEqual([]);
    expect(visibleResources(caller(['Speech.Token'], ['Translator.Use']), resources).map((r) => r.name)).toEqual([
      'speech',
      'translator',
    ]);
  });
});

describe('RateLimiter', () => {
  it('allows a burst up to the limit, then 429 with Retry-After, refilling over the minute', () => {
    const clock = { now: 0 };
    const limiter = new RateLimiter({ perMinute: 3, now: () => clock.now });
    limiter.take('a');
    limiter.take('a');
    limiter.take('a');
    let error: VendingError | undefined;
    try {
      limiter.take('a');
    } catch (e) {
      error = e as VendingError;
    }
    expect(error?.code).toBe('rate_limited');
    expect(error?.retryAfterSeconds).toBe(20);
    limiter.take('b'); // callers are independent
    clock.now += 20_000;
    limiter.take('a');
  });

  it('is off at 0: a thousand requests in the same millisecond all pass', () => {
    const limiter = new RateLimiter({ perMinute: 0, now: () => 0 });
    let passed = 0;
    for (let i = 0; i < 1000; i++) {
      limiter.take('a');
      passed++;
    }
    expect(passed).toBe(1000);
    // The same burst is refused at 1 per minute, so the loop above proves the setting, not the clock.
    const limited = new RateLimiter({ perMinute: 1, now: () => 0 });
    limited.take('a');
    expect(() => limited.take('a')).toThrow(expect.objectContaining({ code: 'rate_limited' }) as Error);
  });

  it('forgets idle callers instead of growing without bound', () => {
    const clock = { now: 0 };
    const limiter = new RateLimiter({ perMinute: 1, now: () => clock.now, maxTrackedCallers: 100 });
    for (let i = 0; i < 1000; i++) {
      limiter.take(`caller-${i}`);
      clock.now += 1000;
    }
    // caller-999 was just seen and is still limited; the oldest were dropped along the way
    expect(codeOf(() => limiter.take('caller-999'))).toBe('rate_limited');
  });
});
