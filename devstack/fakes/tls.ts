import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
