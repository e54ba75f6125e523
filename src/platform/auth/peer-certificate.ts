import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';

/**
 * The client certificate the TLS connection of a request was authenticated with, if any: present
 * only on the mutual-TLS listener, and only once the handshake verified it against the configured CA.
 */
export function peerCertificateOf(request: FastifyRequest): { der: Buffer; subject: string } | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') {
    return undefined;
  }
  const certificate = socket.getPeerCertificate();
  if (!certificate?.raw) {
    return undefined;
  }
  const subject = Object.entries(certificate.subject ?? {})
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(', ');
  return { der: certificate.raw, subject };
}

/** RFC 8705 `x5t#S256`: base64url SHA-256 of the certificate's DER, also our fingerprint of a certificate. */
export const certificateThumbprint = (der: Buffer): string =>
  createHash('sha256').update(der).digest('base64url');
