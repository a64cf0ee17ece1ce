import { describe, expect, it } from 'vitest';
import {
  classifyStsAnswer,
  classifyStsNetworkFailure,
  QUOTA_RECHECK_SECONDS,
  replenishedIn,
  type StsAttempt,
} from '../../src/sts/stsAnswer.js';
import { parseRetryAfter } from '../../src/http/retryAfter.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const attempt: StsAttempt = {
  url: 'https://japanwest.api.cognitive.microsoft.com/sts/v1.0/issueToken',
  resource: 'speech',
  now: NOW,
  timeoutMs: 5000,
};
/** A token shaped as the STS issues them: a compact JWS (HMAC-signed JWT) with `exp` in seconds. */
function stsToken(exp: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ region: 'japanwest', exp })}.c2lnbmF0dXJl`;
}
const STS_401 =
  '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}';

describe('classifyStsAnswer: an STS answer becomes a token or a coded failure', () => {
  it.each([
    { status: 401, body: STS_401, code: 'key_rejected', retryable: false },
    {
      status: 401,
      body: '{"statusCode":401,"message":"Access denied due to invalid subscription key."}',
      code: 'key_rejected',
      retryable: false,
    },
    {
      status: 403,
      body: '{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}',
      code: 'local_auth_disabled',
      retryable: false,
    },
    {
      status: 403,
      body: '{"error":{"code":"403","message":"Access denied due to Virtual Network/Firewall rules."}}',
      code: 'network_restricted',
      retryable: false,
    },
    {
      status: 403,
      body: '{"error":{"code":"403","message":"Something else."}}',
      code: 'sts_forbidden',
      retryable: false,
    },
    { status: 429, body: '', code: 'sts_throttled', retryable: true },
    { status: 500, body: '', code: 'sts_unavailable', retryable: true },
    { status: 503, body: 'not json', code: 'sts_unavailable', retryable: true },
    { status: 400, body: '', code: 'sts_bad_request', retryable: false },
    {
      status: 404,
      body: '{"error":{"code":"404","message":"Resource not found"}}',
      code: 'sts_not_found',
      retryable: false,
    },
    {
      status: 404,
      body: '{ "statusCode": 404, "message": "Resource not found" }',
      code: 'sts_not_found',
      retryable: false,
    },
    {
      status: 403,
      body: '{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 2.03:04:05." }',
      code: 'quota_exceeded',
      retryable: false,
    },
    {
      status: 403,
      body: '{"error":{"code":403001,"message":"The operation is not allowed because the subscription has exceeded its free quota."}}',
      code: 'quota_exceeded',
      retryable: false,
    },
    {
      status: 403,
      body: '{"error":{"code":"403","message":"A Virtual Network is configured for this resource. Please use the correct endpoint for making requests. Check https://aka.ms/cogsvc-vnet for more details."}}',
      code: 'custom_subdomain_required',
      retryable: false,
    },
    {
      status: 401,
      body: '{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}',
      code: 'local_auth_disabled',
      retryable: false,
    },
    { status: 200, body: '', code: 'sts_invalid_response', retryable: true },
    { status: 200, body: '<html> captive portal </html>', code: 'sts_invalid_response', retryable: true },
    { status: 200, body: 'eyJhbGciOi\u0000.x', code: 'sts_invalid_response', retryable: true },
    { status: 200, body: 'eyJhbGciOi\u202e.x', code: 'sts_invalid_response', retryable: true },
    { status: 200, body: '<html>captive-portal</html>', code: 'sts_invalid_response', retryable: true },
  ])('$status $code', ({ status, body, code, retryable }) => {
    const outcome = classifyStsAnswer({ status, body, retryAfter: null }, attempt);
    expect(outcome).toMatchObject({ kind: 'failure', retryable, error: { code } });
    if (outcome.kind === 'failure') {
      expect(outcome.error.diagnosis).toContain(`POST ${attempt.url} for "speech"`);
      expect(outcome.error.fix).toBeTruthy();
    }
  });

  it('a token is the trimmed body', () => {
    const token = stsToken(NOW / 1000 + 600);
    expect(classifyStsAnswer({ status: 200, body: ` ${token}\n`, retryAfter: null }, attempt)).toEqual({
      kind: 'credential',
      value: token,
    });
  });

  it('quotes the upstream message in the diagnosis, never the whole body', () => {
    const outcome = classifyStsAnswer({ status: 401, body: STS_401, retryAfter: null }, attempt);
    expect(outcome.kind === 'failure' && outcome.error.diagnosis).toContain(
      '"Access denied due to invalid subscription key',
    );
  });

  it("Retry-After in seconds or as a date sets the wait and the caller's retryAfterSeconds", () => {
    const seconds = classifyStsAnswer({ status: 429, body: '', retryAfter: '7' }, attempt);
    expect(seconds).toMatchObject({ retryAfterMs: 7000, error: { retryAfterSeconds: 7 } });
    const date = classifyStsAnswer({ status: 503, body: '', retryAfter: new Date(NOW + 3000).toUTCString() }, attempt);
    expect(date).toMatchObject({ retryAfterMs: 3000, error: { retryAfterSeconds: 3 } });
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });

  it('Retry-After is at most a minute, however large the upstream says', () => {
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(60_000);
    expect(parseRetryAfter(new Date(NOW + 86_400_000).toUTCString(), NOW)).toBe(60_000);
    const outcome = classifyStsAnswer({ status: 503, body: '', retryAfter: '3600' }, attempt);
    expect(outcome).toMatchObject({ retryAfterMs: 60_000, error: { retryAfterSeconds: 60 } });
  });
});

describe('classifyStsNetworkFailure: no HTTP answer', () => {
  it.each([
    { error: new DOMException('no answer', 'TimeoutError'), code: 'sts_timeout', retryable: true },
    {
      error: new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
      code: 'sts_unreachable',
      retryable: true,
    },
    {
      error: new TypeError('fetch failed', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
      }),
      code: 'sts_unreachable',
      retryable: false,
    },
  ])('$code (retryable: $retryable)', ({ error, code, retryable }) => {
    expect(classifyStsNetworkFailure(error, attempt)).toMatchObject({ kind: 'failure', retryable, error: { code } });
  });

  it('a request fetch refused to build is not retried, and its message (which quotes the value) is not kept', () => {
    const error = new TypeError('Headers.append: "a1b2c3d4e5f60718293a4b5c6d7e8f90\nx" is an invalid header value.');
    const outcome = classifyStsNetworkFailure(error, attempt);
    expect(outcome).toMatchObject({ kind: 'failure', retryable: false, error: { code: 'sts_unreachable' } });
    expect(outcome.kind === 'failure' && outcome.error.diagnosis).not.toContain('a1b2c3d4');
  });

  it('a host that does not resolve points at the region, cloud or subdomain', () => {
    const outcome = classifyStsNetworkFailure(new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }), attempt);
    expect(outcome.kind === 'failure' && outcome.error.fix).toMatch(/region, cloud or custom subdomain/);
  });
});

describe('a refusal whose body names its reason', () => {
  const quota = (replenish: string) =>
    classifyStsAnswer(
      {
        status: 403,
        body: JSON.stringify({
          statusCode: 403,
          message: `Out of call volume quota. Quota will be replenished in ${replenish}.`,
        }),
        retryAfter: null,
      },
      attempt,
    );

  it.each([
    ['2.03:04:05', ((2 * 24 + 3) * 60 + 4) * 60 + 5],
    ['03:30:56', (3 * 60 + 30) * 60 + 56],
    ['00:01:30', 90],
    ['22.14:18:12', ((22 * 24 + 14) * 60 + 18) * 60 + 12],
  ])('reads the replenish time %s as %i s', (text, seconds) => {
    expect(replenishedIn(`Quota will be replenished in ${text}.`)).toBe(seconds);
  });

  it('a quota tells callers to come back within a few minutes, and when the quota returns', () => {
    const outcome = quota('2.03:04:05');
    if (outcome.kind !== 'failure') throw new Error('expected a failure');
    expect(outcome.error.retryAfterSeconds).toBe(QUOTA_RECHECK_SECONDS);
    expect(outcome.error.detail).toContain(new Date(NOW + (((2 * 24 + 3) * 60 + 4) * 60 + 5) * 1000).toISOString());
    expect(outcome.error.detail).toContain('A higher pricing tier lifts the limit');
    const soon = quota('00:01:30');
    expect(soon.kind === 'failure' && soon.error.retryAfterSeconds).toBe(90);
  });

  it('an unknown refusal keeps its generic code and carries the upstream code', () => {
    const outcome = classifyStsAnswer(
      { status: 403, body: '{"error":{"code":"SomethingNew","message":"A reason we do not know."}}', retryAfter: null },
      attempt,
    );
    expect(outcome).toMatchObject({ error: { code: 'sts_forbidden', upstreamCode: 'SomethingNew' } });
  });

  it('the fix for disabled key authentication is something this service can do', () => {
    const outcome = classifyStsAnswer(
      {
        status: 403,
        body: '{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}',
        retryAfter: null,
      },
      attempt,
    );
    expect(outcome.kind === 'failure' && outcome.error.fix).toContain('disableLocalAuth');
    expect(outcome.kind === 'failure' && outcome.error.fix).not.toMatch(/Entra tokens/);
  });

  it('diagnoses are one line whatever the upstream message holds', () => {
    const outcome = classifyStsAnswer(
      {
        status: 403,
        body: JSON.stringify({ error: { code: '403', message: 'first\r\nsecond\nthird' } }),
        retryAfter: null,
      },
      attempt,
    );
    expect(outcome.kind === 'failure' && outcome.error.diagnosis).not.toMatch(/[\r\n]/);
  });
});
