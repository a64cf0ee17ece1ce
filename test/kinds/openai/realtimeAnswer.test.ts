/** `classifyMintAnswer` is pure: each answer `client_secrets` may give, and what it comes to. */
import { describe, expect, it } from 'vitest';
import { BUILT_IN_KINDS } from '../../../src/kinds/registry.js';
import {
  classifyMintAnswer,
  classifyMintNetworkFailure,
  type MintAttempt,
} from '../../../src/kinds/openai/realtimeAnswer.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const identity: MintAttempt = {
  url: 'https://contoso-aoai.openai.azure.com/openai/v1/realtime/client_secrets',
  resource: 'assistant',
  now: NOW,
  timeoutMs: 5000,
  deployment: 'gpt-realtime',
  auth: 'identity',
};
const keyed: MintAttempt = { ...identity, auth: 'key' };
const json = (body: unknown) => JSON.stringify(body);
const azureError = (code: string, message: string) => json({ error: { code, message } });

interface Row {
  readonly name: string;
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
  readonly attempt?: MintAttempt;
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly upstreamCode?: string;
}

const FAILURES: Row[] = [
  {
    name: 'a 401 PermissionDenied: the data role is missing',
    status: 401,
    body: azureError('PermissionDenied', 'Principal does not have access to API/Operation.'),
    code: 'identity_role_missing',
    retryable: false,
    upstreamCode: 'PermissionDenied',
  },
  {
    name: 'a 403 PermissionDenied',
    status: 403,
    body: azureError('PermissionDenied', 'Principal does not have access to API/Operation.'),
    code: 'identity_role_missing',
    retryable: false,
  },
  {
    name: "the gateway's 401 for a token of another audience",
    status: 401,
    body: json({
      statusCode: 401,
      message:
        'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
    }),
    code: 'openai_auth_failed',
    retryable: false,
  },
  {
    name: 'a 401 for a wrong key',
    status: 401,
    body: azureError(
      '401',
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    ),
    attempt: keyed,
    code: 'key_rejected',
    retryable: false,
  },
  {
    name: 'a bare 401 in key mode',
    status: 401,
    body: '',
    attempt: keyed,
    code: 'key_rejected',
    retryable: false,
  },
  {
    name: 'a 403 AuthenticationTypeDisabled',
    status: 403,
    body: azureError('AuthenticationTypeDisabled', 'Key based authentication is disabled for this resource.'),
    attempt: keyed,
    code: 'local_auth_disabled',
    retryable: false,
    upstreamCode: 'AuthenticationTypeDisabled',
  },
  {
    name: 'the 403 text without its code',
    status: 403,
    body: json({ error: { message: 'Key based authentication is disabled for this resource.' } }),
    attempt: keyed,
    code: 'local_auth_disabled',
    retryable: false,
  },
  {
    name: 'a 403 of the network rules',
    status: 403,
    body: azureError('403', 'Access denied due to Virtual Network/Firewall rules.'),
    code: 'network_restricted',
    retryable: false,
  },
  {
    name: 'a 404 DeploymentNotFound',
    status: 404,
    body: azureError(
      'DeploymentNotFound',
      'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
    ),
    code: 'deployment_not_found',
    retryable: false,
    upstreamCode: 'DeploymentNotFound',
  },
  {
    name: 'a 400 OpperationNotSupported (sic)',
    status: 400,
    body: azureError(
      'OpperationNotSupported',
      'The realtime operation does not work with the specified model, gpt-4o. Please choose different model and try again.',
    ),
    code: 'model_not_realtime',
    retryable: false,
    upstreamCode: 'OpperationNotSupported',
  },
  {
    name: 'a 400 OperationNotSupported, should Azure fix the spelling',
    status: 400,
    body: azureError('OperationNotSupported', 'The realtime operation does not work with the specified model.'),
    code: 'model_not_realtime',
    retryable: false,
  },
  {
    name: 'a 429 with Retry-After',
    status: 429,
    body: azureError('429', 'Requests to the Realtime client secrets operation have exceeded the rate limit.'),
    retryAfter: '12',
    code: 'openai_throttled',
    retryable: false,
    retryAfterSeconds: 12,
  },
  {
    name: 'a 429 with Retry-After beyond a minute',
    status: 429,
    body: '',
    retryAfter: '600',
    code: 'openai_throttled',
    retryable: false,
    retryAfterSeconds: 60,
  },
  {
    name: 'a 429 without Retry-After',
    status: 429,
    body: '',
    code: 'openai_throttled',
    retryable: false,
    retryAfterSeconds: 1,
  },
  {
    name: 'a 503',
    status: 503,
    body: azureError('ServiceUnavailable', 'The service is temporarily unable to process your request.'),
    retryAfter: '3',
    code: 'openai_unavailable',
    retryable: true,
    retryAfterSeconds: 3,
  },
  { name: 'a 500', status: 500, body: 'oops', code: 'openai_unavailable', retryable: true },
  { name: 'a 408', status: 408, body: '', code: 'openai_unavailable', retryable: true },
  {
    name: 'a 400 for a session field',
    status: 400,
    body: json({
      error: {
        message: "Unknown parameter: 'session.speed'.",
        type: 'invalid_request_error',
        param: 'session.speed',
        code: 'unknown_parameter',
      },
    }),
    code: 'openai_refused',
    retryable: false,
    upstreamCode: 'unknown_parameter',
  },
  {
    name: 'a 404 of a host without the realtime surface',
    status: 404,
    body: azureError('404', 'Resource not found'),
    code: 'openai_refused',
    retryable: false,
  },
  {
    name: 'a 200 that is not JSON',
    status: 200,
    body: '{"value":"ek_',
    code: 'openai_invalid_response',
    retryable: true,
  },
  {
    name: 'a 200 without a value',
    status: 200,
    body: json({ expires_at: NOW / 1000 + 60 }),
    code: 'openai_invalid_response',
    retryable: true,
  },
  {
    name: 'a 200 whose value cannot be a bearer token',
    status: 200,
    body: json({ value: 'ek_ has spaces', expires_at: NOW / 1000 + 60 }),
    code: 'openai_invalid_response',
    retryable: true,
  },
  {
    name: 'a 200 with a key already expired',
    status: 200,
    body: json({ value: 'ek_abc', expires_at: NOW / 1000 - 1 }),
    code: 'openai_invalid_response',
    retryable: true,
  },
  {
    name: 'a 200 with a key for three hours',
    status: 200,
    body: json({ value: 'ek_abc', expires_at: NOW / 1000 + 3 * 3600 }),
    code: 'openai_invalid_response',
    retryable: true,
  },
];

describe('classifyMintAnswer', () => {
  it.each(FAILURES)('$name → $code', (row) => {
    const outcome = classifyMintAnswer(
      { status: row.status, body: row.body, retryAfter: row.retryAfter ?? null },
      row.attempt ?? identity,
    );
    if (outcome.kind !== 'failure') throw new Error(`expected a failure, got a credential`);
    expect(outcome.error.code).toBe(row.code);
    expect(outcome.retryable).toBe(row.retryable);
    if (row.retryAfterSeconds !== undefined) expect(outcome.error.retryAfterSeconds).toBe(row.retryAfterSeconds);
    if (row.upstreamCode !== undefined) expect(outcome.error.upstreamCode).toBe(row.upstreamCode);
    // What the operator reads names the call and has a fix; what the caller reads names neither.
    expect(outcome.error.diagnosis).toContain('client_secrets for "assistant"');
    expect(outcome.error.fix?.length).toBeGreaterThan(20);
    expect(outcome.error.detail).not.toContain('contoso-aoai');
  });

  it('reads the key, expires_at and the session’s model and voice', () => {
    const outcome = classifyMintAnswer(
      {
        status: 200,
        body: json({
          value: 'ek_68af296e8e408191a1120ab6383263c2',
          expires_at: NOW / 1000 + 60,
          session: {
            type: 'realtime',
            model: 'gpt-realtime',
            audio: { output: { voice: 'marin' } },
            instructions: 'x',
          },
        }),
        retryAfter: null,
      },
      identity,
    );
    expect(outcome).toEqual({
      kind: 'credential',
      value: 'ek_68af296e8e408191a1120ab6383263c2',
      expiresAt: NOW + 60_000,
      session: { model: 'gpt-realtime', voice: 'marin' },
    });
  });

  it('gives a key without expires_at 60 s, and one without a session no model or voice', () => {
    expect(
      classifyMintAnswer(
        { status: 200, body: json({ value: 'ek_abc', expires_at: null }), retryAfter: null },
        identity,
      ),
    ).toEqual({
      kind: 'credential',
      value: 'ek_abc',
      expiresAt: NOW + 60_000,
      session: { model: undefined, voice: undefined },
    });
  });

  it('is the kind’s classifyAnswer', () => {
    const kind = BUILT_IN_KINDS.find((k) => k.names.includes('openai-realtime'));
    const answer = { status: 404, body: azureError('DeploymentNotFound', 'none'), retryAfter: null };
    expect(kind?.classifyAnswer(answer, identity)).toEqual(classifyMintAnswer(answer, identity));
  });

  it('keeps an upstream message to one bounded line', () => {
    const outcome = classifyMintAnswer(
      { status: 503, body: azureError('x', `line one\r\nline two ${'y'.repeat(1000)}`), retryAfter: null },
      identity,
    );
    if (outcome.kind !== 'failure') throw new Error('expected a failure');
    expect(outcome.error.diagnosis).toContain('line one line two');
    expect(outcome.error.diagnosis).not.toMatch(/[\r\n]/);
    expect(outcome.error.diagnosis!.length).toBeLessThan(500);
  });
});

describe('classifyMintNetworkFailure', () => {
  const systemError = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: { code } });
  it.each([
    ['a timeout', new DOMException('no answer within 5000 ms', 'TimeoutError'), 'openai_timeout', true],
    ['a refused connection', systemError('ECONNREFUSED'), 'openai_unreachable', true],
    ['a reset connection', systemError('ECONNRESET'), 'openai_unreachable', true],
    ['a host that does not resolve', systemError('ENOTFOUND'), 'openai_unreachable', false],
    [
      "a TLS-inspecting proxy's certificate",
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('self-signed certificate in certificate chain'), {
          code: 'SELF_SIGNED_CERT_IN_CHAIN',
        }),
      }),
      'tls_untrusted',
      false,
    ],
    [
      'a certificate for another host',
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
          code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        }),
      }),
      'tls_untrusted',
      false,
    ],
    [
      'a request fetch could not build',
      new TypeError('Headers.append: "a\nb" is an invalid header value.'),
      'openai_unreachable',
      false,
    ],
  ])('%s → %s', (_, error, code, retryable) => {
    const outcome = classifyMintNetworkFailure(error, identity);
    if (outcome.kind !== 'failure') throw new Error('expected a failure');
    expect([outcome.error.code, outcome.retryable]).toEqual([code, retryable]);
    // fetch's message may quote a header value: never in the diagnosis.
    expect(outcome.error.diagnosis).not.toContain('a\nb');
  });
});
