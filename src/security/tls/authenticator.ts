import { X509Certificate } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { presentedToken, type Authentication, type Authenticator } from '#platform/auth/authenticate';
import { certificateThumbprint, peerCertificateOf } from '#platform/auth/peer-certificate';
import { principalFor } from '#platform/auth/principal';
import { isRole, roleDefinitions } from '#platform/auth/roles';
import type { DB } from '#platform/db/types';
import type { PrincipalCheck } from '#platform/http/access-control';
import { findCertificateOwner, type CertificateOwner } from './queries.ts';

/**
 * Client certificates of the mutual-TLS listener. The handshake already verified the certificate
 * against SPX_TLS_CLIENT_CA; here it must also be registered to an enabled client. Registrations are
 * read on every request (one indexed lookup), so a revocation applies at once on every gateway.
 */

const NOT_REGISTERED: Authentication = { ok: false, reason: 'client certificate not registered' };
const NOT_USABLE: Authentication = {
  ok: false,
  reason: 'client certificate revoked or expired, or its client is disabled',
};

interface PeerRegistration {
  thumbprint: string;
  owner: CertificateOwner | undefined;
}

/** The registration of the connection's verified client certificate; undefined without one (plain HTTP). */
async function peerRegistration(
  db: Kysely<DB>,
  request: FastifyRequest,
): Promise<PeerRegistration | undefined> {
  const peer = peerCertificateOf(request);
  if (!peer) {
    return undefined;
  }
  const thumbprint = certificateThumbprint(peer.der);
  const subject = new X509Certificate(peer.der).subject;
  return { thumbprint, owner: await findCertificateOwner(db, thumbprint, subject) };
}

/**
 * Authenticates by client certificate when the request presents no token or API key (those are left to
 * their authenticators, and `certificateOwnerCheck` ties them to the certificate). The principal holds
 * the client's role permissions; its keyId is the registration's id.
 */
export function certificateAuthenticator(db: Kysely<DB>): Authenticator {
  return async (request) => {
    if (presentedToken(request) !== undefined) {
      return undefined;
    }
    const peer = await peerRegistration(db, request);
    return peer && authenticationOf(peer);
  };
}

function authenticationOf({ owner }: PeerRegistration): Authentication {
  if (!owner) {
    return NOT_REGISTERED;
  }
  const role = owner.role;
  if (!isRole(role) || !usableNow(owner)) {
    return NOT_USABLE;
  }
  const client = { id: owner.client_id, name: owner.name, role };
  const credential = { id: owner.id, scopes: [...roleDefinitions[role].permissions] };
  return { ok: true, principal: principalFor(client, credential, 'client_certificate') };
}

/** Not revoked, its client not disabled, and (for an uploaded certificate) within its validity. */
function usableNow(owner: CertificateOwner, now = Date.now()): boolean {
  return (
    !owner.revoked_at &&
    !owner.disabled_at &&
    (owner.not_after === null || owner.not_after.getTime() > now) &&
    (owner.not_before === null || owner.not_before.getTime() <= now)
  );
}

/**
 * On a mutual-TLS connection whose certificate is registered (even if revoked) to a client, a token
 * or API key must belong to that same client: a key of client A does not ride on client B's
 * certificate. A certificate that is not registered leaves the key to speak for itself.
 */
export function certificateOwnerCheck(db: Kysely<DB>): PrincipalCheck {
  return async (request, principal) => {
    if (principal.authMethod === 'client_certificate') {
      return undefined;
    }
    const owner = (await peerRegistration(db, request))?.owner;
    return owner && owner.client_id !== principal.clientId
      ? 'the client certificate of this connection is registered to another client'
      : undefined;
  };
}
