import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeServer, listenOnLoopback } from '../../devstack/fakes/server.js';
import { createSelfSignedCertificate, writeCertificateFile } from '../../devstack/fakes/tls.js';

describe('createSelfSignedCertificate', () => {
  it('is a CA certificate for localhost and 127.0.0.1, valid for about two days, made once per process', () => {
    const pem = createSelfSignedCertificate();
    const certificate = new X509Certificate(pem.cert);
    expect(certificate.subject).toBe('CN=localhost');
    expect(certificate.ca).toBe(true);
    expect(certificate.subjectAltName).toContain('DNS:localhost');
    expect(certificate.subjectAltName).toContain('IP Address:127.0.0.1');
    const lifetime = Date.parse(certificate.validTo) - Date.parse(certificate.validFrom);
    expect(lifetime).toBe(2 * 24 * 3_600_000);
    expect(certificate.checkPrivateKey(createPrivateKey(pem.key))).toBe(true);
    expect(createSelfSignedCertificate()).toBe(pem);
  });

  it('is its own trust anchor for a TLS client that names it as ca, and only then', async () => {
    const { cert, key } = createSelfSignedCertificate();
    const server = createServer({ cert, key }, (_req, res) => res.end('ok'));
    const port = await listenOnLoopback(server);
    const request = (ca?: string) =>
      new Promise<string>((resolve, reject) => {
        get(`https://127.0.0.1:${port}/`, { ...(ca ? { ca } : {}), agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    try {
      expect(await request(cert)).toBe('ok');
      await expect(request()).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    } finally {
      await closeServer(server);
    }
  });

  it('writeCertificateFile writes the PEM for NODE_EXTRA_CA_CERTS', () => {
    const directory = mkdtempSync(join(tmpdir(), 'fake-tls-test-'));
    try {
      const path = writeCertificateFile(directory);
      expect(readFileSync(path, 'utf8')).toBe(createSelfSignedCertificate().cert);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
