import { X509Certificate } from 'node:crypto';
import { certificateThumbprint } from '#platform/auth/peer-certificate';

/**
 * Reading X.509 certificates with Node's own parser: PEM texts (an admin's upload, the configured
 * files) and the DER a TLS peer presented. One subject format everywhere: Node's, one RDN per line.
 */

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** What the gateway records about a certificate. */
export interface CertificateFacts {
  /** RFC 8705 x5t#S256 of the DER. */
  thumbprint: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** The PEM blocks of a text, with their labels (CERTIFICATE, PRIVATE KEY...). */
export const pemBlocks = (text: string): { label: string; pem: string }[] =>
  [...text.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1]!, pem: match[0] }));

/** Every certificate of a PEM text (a CA bundle); a CertificateError when one cannot be read. */
export function certificatesOfPem(text: string): X509Certificate[] {
  return pemBlocks(text)
    .filter((block) => block.label === 'CERTIFICATE')
    .map((block) => {
      try {
        return new X509Certificate(block.pem);
      } catch (error) {
        throw new CertificateError(`a certificate cannot be read: ${(error as Error).message}`);
      }
    });
}

export function factsOf(certificate: X509Certificate): CertificateFacts {
  return {
    thumbprint: certificateThumbprint(certificate.raw),
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
  };
}

/**
 * The one client certificate of an upload: refuses private keys (never stored; the sender must treat
 * the key as disclosed), texts with no or several certificates, CA certificates and certificates not
 * valid now.
 */
export function clientCertificateOfPem(text: string, now = new Date()): X509Certificate {
  const blocks = pemBlocks(text);
  if (blocks.some((block) => /PRIVATE KEY/.test(block.label))) {
    throw new CertificateError(
      'this holds a private key: send the certificate only (and treat this key as disclosed)',
    );
  }
  const certificates = certificatesOfPem(text);
  if (certificates.length !== 1) {
    throw new CertificateError(
      certificates.length === 0
        ? 'no PEM certificate found (-----BEGIN CERTIFICATE-----)'
        : "send one certificate, the client's own, without its chain",
    );
  }
  const certificate = certificates[0]!;
  if (certificate.ca) {
    throw new CertificateError('this is a CA certificate: a client is known by its own certificate');
  }
  const { notBefore, notAfter } = factsOf(certificate);
  if (notAfter <= now || notBefore > now) {
    throw new CertificateError(
      `the certificate is not valid now (valid from ${notBefore.toISOString()} to ${notAfter.toISOString()})`,
    );
  }
  return certificate;
}

/** True when one of these CA certificates issued and signed the certificate. */
export const issuedByOneOf = (certificate: X509Certificate, cas: readonly X509Certificate[]): boolean =>
  cas.some((ca) => certificate.checkIssued(ca) && certificate.verify(ca.publicKey));

/**
 * A subject DN as an admin types it (`CN=mis-north, O=Ministry` or one RDN per line) in Node's format,
 * one RDN per line: a comma starts a new RDN only before `attribute=`.
 */
export const normalizeSubject = (subject: string): string =>
  subject
    .split(/\n|,(?=\s*[A-Za-z][A-Za-z0-9.-]*=)/)
    .map((part) => part.trim())
    .filter(Boolean)
    .join('\n');
