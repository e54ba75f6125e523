// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect metadata
// polyfill loaded first. Only `spx certs` and tests import this module, never the running gateway.
import 'reflect-metadata';
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

/**
 * A small certificate authority for tests and pilots (`spx certs`): a CA, server certificates for the
 * mutual-TLS listener and client certificates, as PEM. ECDSA P-256 with SHA-256: fast to generate and
 * accepted by every TLS stack. Built on Node's WebCrypto (globalThis.crypto, which @peculiar/x509 uses
 * by default), so it needs no openssl binary.
 */

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface IssuedCertificate {
  certificatePem: string;
  keyPem: string;
}

/** When a certificate is valid: from `notBefore` (default now) for `days`, or until `notAfter`. */
export interface Validity {
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}

/** The CA's own certificate and key, as read back from its files. */
export interface CertificateAuthority extends IssuedCertificate {
  certificate: x509.X509Certificate;
  privateKey: webcrypto.CryptoKey;
}

/** A self-signed CA that may sign end-entity certificates only (path length 0). */
export async function createCertificateAuthority(
  commonName: string,
  validity: Validity,
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: nameOf(commonName),
    keys,
    signingAlgorithm: ALGORITHM,
    ...period(validity),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem'), keyPem: pemOf(keys.privateKey) };
}

/** Reads a CA made by `createCertificateAuthority` (or any ECDSA P-256 CA) from its PEM texts. */
export async function loadCertificateAuthority(pems: IssuedCertificate): Promise<CertificateAuthority> {
  const certificate = new x509.X509Certificate(pems.certificatePem);
  const der = createPrivateKey(pems.keyPem).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
  return { ...pems, certificate, privateKey: privateKey };
}

/** A server certificate for the mutual-TLS listener, valid for these host names and IP addresses. */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  hosts: readonly string[],
  validity: Validity,
): Promise<IssuedCertificate> {
  const names = hosts.map((host) => ({ type: isIP(host) ? ('ip' as const) : ('dns' as const), value: host }));
  return issue(ca, hosts[0]!, validity, x509.ExtendedKeyUsage.serverAuth, [
    new x509.SubjectAlternativeNameExtension(names),
  ]);
}

/** A client certificate whose subject is `CN=<name>` (what the gateway shows and may map by). */
export const issueClientCertificate = (
  ca: CertificateAuthority,
  name: string,
  validity: Validity,
): Promise<IssuedCertificate> => issue(ca, name, validity, x509.ExtendedKeyUsage.clientAuth, []);

async function issue(
  ca: CertificateAuthority,
  commonName: string,
  validity: Validity,
  purpose: x509.ExtendedKeyUsage,
  extensions: x509.Extension[],
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: nameOf(commonName),
    issuer: ca.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALGORITHM,
    ...period(validity),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([purpose]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      ...extensions,
    ],
  });
  return { certificatePem: certificate.toString('pem'), keyPem: pemOf(keys.privateKey) };
}

const generateKeys = async (): Promise<webcrypto.CryptoKeyPair> =>
  await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);

const pemOf = (key: webcrypto.CryptoKey): string =>
  KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();

/** A positive 128-bit serial number (RFC 5280 §4.1.2.2: unique per CA, at most 20 octets). */
const serialNumber = (): string => '01' + randomBytes(15).toString('hex');

/** A one-RDN name; built from its parts so that a name with commas or quotes cannot inject an RDN. */
const nameOf = (commonName: string): x509.Name => new x509.Name([{ CN: [commonName] }]);

function period({ days = 365, notBefore = new Date(), notAfter }: Validity) {
  return { notBefore, notAfter: notAfter ?? new Date(notBefore.getTime() + days * DAY_MS) };
}
