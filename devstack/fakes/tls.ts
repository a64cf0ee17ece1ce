import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export interface SelfSignedCertificate {
  readonly cert: string;
  readonly key: string;
}

let cached: SelfSignedCertificate | undefined;

/**
 * A P-256 certificate for localhost and 127.0.0.1, made with the openssl CLI (Node cannot issue
 * certificates). It is its own trust anchor: pass `cert` as `ca` or through NODE_EXTRA_CA_CERTS.
 */
export function createSelfSignedCertificate(): SelfSignedCertificate {
  if (cached) return cached;
  const directory = mkdtempSync(join(tmpdir(), 'fake-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-keyout',
        join(directory, 'key.pem'),
        '-out',
        join(directory, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
    cached = {
      cert: readFileSync(join(directory, 'cert.pem'), 'utf8'),
      key: readFileSync(join(directory, 'key.pem'), 'utf8'),
    };
    return cached;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Writes the certificate for NODE_EXTRA_CA_CERTS; returns its path. */
export function writeCertificateFile(directory: string): string {
  const path = join(directory, 'fake-ca.pem');
  writeFileSync(path, createSelfSignedCertificate().cert);
  return path;
}

/**
 * The certificate's public key pin as Chromium takes it in `--ignore-certificate-errors-spki-list`:
 * base64 of the SHA-256 of its DER SubjectPublicKeyInfo. Chromium then accepts this key, and no
 * other self-signed one, without a trust store.
 */
export function spkiPin(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * `fetch` to a TLS fake on loopback, trusting `ca` alone. Node's fetch takes no CA short of
 * undici's own Agent (NODE_EXTRA_CA_CERTS is read once, at process start), so this sends the
 * request with node:https and answers a standard `Response`. `signal` aborts it as fetch would:
 * rejecting with the signal's reason (a TimeoutError for `AbortSignal.timeout`).
 */
export async function fetchOverTls(request: Request, ca: string, signal?: AbortSignal): Promise<Response> {
  signal?.throwIfAborted();
  const body =
    request.method === 'GET' || request.method === 'HEAD' ? undefined : Buffer.from(await request.arrayBuffer());
  const headers = Object.fromEntries(request.headers);
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise<Response>((resolve, reject) => {
    const outgoing = httpsRequest(
      request.url,
      { method: request.method, headers, ca, agent: false, ...(signal === undefined ? {} : { signal }) },
      (incoming) => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const item of Array.isArray(value) ? value : [value ?? '']) answer.append(name, item);
        }
        const status = incoming.statusCode ?? 502;
        const empty = request.method === 'HEAD' || [204, 205, 304].includes(status);
        if (empty) incoming.resume();
        resolve(
          new Response(empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>), {
            status,
            statusText: incoming.statusMessage ?? '',
            headers: answer,
          }),
        );
      },
    );
    outgoing.on('error', (error) => {
      reject(signal?.aborted === true ? (signal.reason as Error) : new TypeError('fetch failed', { cause: error }));
    });
    outgoing.end(body);
  });
}
