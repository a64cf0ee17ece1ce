import { describe, expect, it } from 'vitest';
import {
  classifyStsAnswer,
  classifyStsNetworkFailure,
  parseRetryAfter,
  type StsAttempt,
} from '../../src/sts/stsAnswer.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const attempt: StsAttempt = {
  url: 'https://japanwest.api.cognitive.microsoft.com/sts/v1.0/issueToken',
  resource: 'speech',
  now: NOW,
  timeoutMs: 5000,
};
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
    { status: 404, body: '', code: 'sts_bad_request', retryable: false },
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
    expect(classifyStsAnswer({ status: 200, body: ' eyJ0.eyJ1.c2ln\n', retryAfter: null }, attempt)).toEqual({
      kind: 'token',
      token: 'eyJ0.eyJ1.c2ln',
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

  it('Retry-After is at most an hour, however large the upstream says', () => {
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(3_600_000);
    expect(parseRetryAfter(new Date(NOW + 86_400_000).toUTCString(), NOW)).toBe(3_600_000);
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
