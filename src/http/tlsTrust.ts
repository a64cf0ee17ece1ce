import { VendingError } from '../errors/serviceError.js';

/**
 * Node's (OpenSSL's) codes for a server certificate the client does not trust or that does not fit
 * the host: the certificate is not the upstream's, or its chain ends at a CA Node does not know
 * (a TLS-inspecting proxy, a self-signed certificate), or it expired. undici puts the error with
 * the code in `cause` of its `TypeError('fetch failed')`; the Azure SDK's pipeline copies it into
 * `RestError.code`.
 */
const UNTRUSTED_ISSUER = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_REVOKED',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const WRONG_HOST = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

/** A certificate failure found in an error or its causes: Node's code for it. */
function tlsFailureCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNTRUSTED_ISSUER.has(code) || OUT_OF_DATE.has(code) || WRONG_HOST.has(code)))
      return code;
    current = current.cause;
  }
  return undefined;
}

/** The upstream whose certificate was refused, as the diagnosis names it. */
export type TlsUpstream = 'Key Vault' | 'the token service' | 'the Speech service' | 'Entra ID' | 'Azure OpenAI';

/**
 * When `error` (or one of its causes) is a certificate `host` presented and Node refused:
 * `tls_untrusted`, with the fix for its kind; otherwise `undefined`. Not a network outage: it
 * does not pass on retry, and DNS and firewall rules are not what to check.
 */
export function untrustedCertificate(error: unknown, upstream: TlsUpstream, host: string): VendingError | undefined {
  const code = tlsFailureCode(error);
  if (code === undefined) return undefined;
  return new VendingError('tls_untrusted', `The TLS certificate of ${upstream} was not trusted.`, {
    detail: 'The service cannot establish a trusted connection to an upstream service. The operator has been told.',
    diagnosis: `${host} (${upstream}) presented a certificate Node does not accept: ${code} (${describeCode(code)})`,
    fix: fixFor(code, host),
    cause: error,
  });
}

function describeCode(code: string): string {
  if (OUT_OF_DATE.has(code)) return code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet';
  if (WRONG_HOST.has(code)) return `issued for another host`;
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN')
    return 'self-signed, or signed by a CA Node does not know';
  return 'its chain does not end at a CA Node trusts';
}

function fixFor(code: string, host: string): string {
  if (OUT_OF_DATE.has(code)) {
    return `The certificate served for ${host} is out of date: Azure's are renewed ahead of time, so it is most likely a TLS-inspecting proxy's (renew it there), or this machine's clock is wrong (check it).`;
  }
  if (WRONG_HOST.has(code)) {
    return `The certificate served for ${host} names other hosts: something else answers for ${host}, such as a proxy or a DNS entry (private DNS zone, hosts file) pointing it elsewhere. Point ${host} at the service, or let the proxy pass it through.`;
  }
  return `A TLS-inspecting proxy (or a self-signed certificate) sits between this app and ${host}, and Node trusts only its own CA list: add the proxy's CA certificate (PEM) to NODE_EXTRA_CA_CERTS (a file path, read when Node starts; in Azure an app setting pointing at a file deployed with the app), or exempt ${host} from inspection. Do not turn certificate checks off (NODE_TLS_REJECT_UNAUTHORIZED=0): keys travel on this connection.`;
}
