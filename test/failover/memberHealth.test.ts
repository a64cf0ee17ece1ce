import { describe, expect, it } from 'vitest';
import { ERROR_CODES, VendingError } from '../../src/errors/serviceError.js';
import { failsOver } from '../../src/failover/memberFailure.js';
import { MemberHealth } from '../../src/failover/memberHealth.js';

const half = () => 0.5;
const failure = (retryAfterSeconds?: number) =>
  new VendingError('sts_unavailable', 'The token service is unavailable.', {
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });

describe("a member's health", () => {
  it('starts failing at the first failure, first probe after the first wait (jittered over its upper half)', () => {
    const health = new MemberHealth();
    expect(health.failed(failure(), 1000, half)).toBe(true);
    expect([health.failing, health.failingSince, health.nextProbeAt]).toEqual([true, 1000, 1000 + 3000]);
    const low = new MemberHealth();
    low.failed(failure(), 0, () => 0);
    expect(low.nextProbeAt).toBe(2000);
  });

  it('keeps its schedule for requests that fail after it started failing; a failed probe doubles the wait, up to the cap', () => {
    const health = new MemberHealth({ firstMs: 4000, maxMs: 20_000 });
    health.failed(failure(), 0, half);
    expect(health.failed(failure(), 500, half)).toBe(false);
    expect(health.nextProbeAt).toBe(3000);
    const waits = [];
    let now = 3000;
    for (let i = 0; i < 4; i++) {
      health.probeFailed(failure(), now, half);
      waits.push((health.nextProbeAt ?? 0) - now);
      now = health.nextProbeAt ?? 0;
    }
    expect(waits).toEqual([6000, 12_000, 15_000, 15_000]);
    expect(health.failingSince).toBe(0);
  });

  it('never probes sooner than the upstream asked (at most 5 minutes)', () => {
    const health = new MemberHealth();
    health.failed(failure(30), 0, half);
    expect(health.nextProbeAt).toBe(30_000);
    const quota = new MemberHealth();
    quota.failed(failure(86_400), 0, half);
    expect(quota.nextProbeAt).toBe(300_000);
  });

  it('recovers: healthy, no probe, the last failure kept for the status view', () => {
    const health = new MemberHealth();
    health.failed(failure(), 0, half);
    expect(health.recovered()).toBe(true);
    expect([health.failing, health.nextProbeAt, health.lastFailure?.error.code]).toEqual([
      false,
      undefined,
      'sts_unavailable',
    ]);
    expect(health.recovered()).toBe(false);
    expect(health.probeDue(10 ** 12)).toBe(false);
  });
});

describe('what fails over', () => {
  it('every 5xx code of a member fails over; caller errors and the three about the service itself do not', () => {
    const passing = ERROR_CODES.filter((code) => failsOver(new VendingError(code, code)));
    const staying = ERROR_CODES.filter((code) => !failsOver(new VendingError(code, code)));
    expect(passing).toEqual(
      expect.arrayContaining([
        'sts_unreachable',
        'sts_timeout',
        'sts_unavailable',
        'sts_throttled',
        'quota_exceeded',
        'key_rejected',
        'secret_not_found',
        'secret_disabled',
        'keyvault_unavailable',
      ]),
    );
    expect(staying.sort()).toEqual(
      [
        'bad_request',
        'configuration_invalid',
        'forbidden',
        'identity_provider_unavailable',
        'internal_error',
        'invalid_token',
        'method_not_allowed',
        'missing_token',
        'rate_limited',
        'resource_not_found',
        'route_not_found',
      ].sort(),
    );
    expect(failsOver(new Error('a bug'))).toBe(false);
  });
});
