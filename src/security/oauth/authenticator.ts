import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { Kysely } from 'kysely';
import { presentedToken, type Authentication, type Authenticator } from '#platform/auth/authenticate';
import { certificateThumbprint, peerCertificateOf } from '#platform/auth/peer-certificate';
import { principalFor } from '#platform/auth/principal';
import { isRole } from '#platform/auth/roles';
import { TtlCache } from '#platform/cache/ttl-cache';
import type { DB } from '#platform/db/types';
import type { RemoteJwks } from '#platform/outbound/remote-jwks';
import {
  InvalidTokenError,
  verifyAccessToken,
  type OwnTokenClaims,
  type TokenAudience,
} from './access-token.ts';
import { findGrant, findLinkedGrant, type CredentialGrant } from './credentials.ts';
import { verifyExternalToken } from './external-token.ts';
import type { EnabledProviders } from './providers.ts';
import type { TokenKeys } from './signing-keys.ts';

/**
 * The bearer token authenticator: claims tokens that look like JWTs (API keys never do), and
 * accepts our own access tokens and those of registered identity providers, told apart by `iss`.
 * A token's client must be enabled and the credential it was obtained with (or the link of its
 * identity at the provider) not revoked nor expired: read through a short cache that a change of
 * the client on this gateway drops. The principal's scopes are those of the token within what the
 * credential grants and the client's role allows. A token bound to a certificate (RFC 8705) is
 * accepted only on a connection presenting that certificate. Refusals carry an RFC 6750
 * `invalid_token` challenge.
 */

export interface TokenAuthenticatorDeps {
  db: Kysely<DB>;
  keys: TokenKeys;
  providers: EnabledProviders;
  providerJwks: RemoteJwks;
  /** Our issuer and audience (read when a token comes: the issuer may be known only once listening). */
  ours: () => TokenAudience;
  cacheMs: number;
}

/** Three base64url parts: a JWS in compact form (an unsecured JWT has an empty third part). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** What a verified token says, whoever issued it. */
interface VerifiedToken {
  grant: CredentialGrant;
  scopes: Iterable<string>;
  certificateThumbprint: string | undefined;
}

export function tokenAuthenticator(deps: TokenAuthenticatorDeps): {
  authenticate: Authenticator;
  /** Drops what is cached about the client (call on every change of it). */
  forget(clientId: string): void;
} {
  const grants = new TtlCache<string, CredentialGrant | undefined>(deps.cacheMs);
  const cachedGrant = (key: string, load: () => Promise<CredentialGrant | undefined>) =>
    grants.through(key, load, Boolean);

  // A client presents the same token for minutes: its signature and claims are checked once, and
  // only its expiry (and below, its credential) on every use. Entries live no longer than the other
  // caches, so a key rotated out with no grace stops its tokens within that time too.
  const verified = new TtlCache<string, OwnTokenClaims>(deps.cacheMs, 10_000);
  const verifyOwn = async (token: string): Promise<VerifiedToken> => {
    const claims = await verified.through(token, () => verifyAccessToken(deps.keys, deps.ours(), token));
    if (claims.expiresAt <= Date.now()) {
      throw new InvalidTokenError('the token expired');
    }
    const grant = await cachedGrant(`own:${claims.credentialId}`, () =>
      findGrant(deps.db, claims.credentialId),
    );
    if (grant?.client_id !== claims.clientId) {
      throw new InvalidTokenError('the credential this token was obtained with no longer exists');
    }
    return {
      grant,
      scopes: claims.scopes,
      certificateThumbprint: claims.certificateThumbprint,
    };
  };

  const verifyExternal = async (token: string, issuer: string): Promise<VerifiedToken> => {
    const provider = await deps.providers.byIssuer(issuer);
    if (!provider) {
      throw new InvalidTokenError("the token's issuer is not trusted by this gateway");
    }
    const claims = await verifyExternalToken(provider, deps.providerJwks, token);
    const grant = await cachedGrant(`idp:${provider.id}:${claims.externalId}`, () =>
      findLinkedGrant(deps.db, provider.id, claims.externalId),
    );
    if (!grant) {
      throw new InvalidTokenError(
        `the token's client is not registered with this gateway for ${provider.name}`,
      );
    }
    return {
      grant,
      scopes: claims.permissions,
      certificateThumbprint: claims.certificateThumbprint,
    };
  };

  const authenticate: Authenticator = async (request) => {
    const token = presentedToken(request);
    if (token === undefined || !JWT_SHAPE.test(token)) {
      return undefined;
    }
    try {
      const issuer = issuerOf(token);
      const verified =
        issuer === deps.ours().issuer ? await verifyOwn(token) : await verifyExternal(token, issuer);
      checkBinding(request, verified.certificateThumbprint);
      return { ok: true, principal: principalOf(verified) };
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        return refusal(error.message);
      }
      throw error;
    }
  };

  return {
    authenticate,
    forget: (clientId) => grants.deleteWhere((_key, grant) => grant?.client_id === clientId),
  };
}

function issuerOf(token: string): string {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw new InvalidTokenError('the token is malformed');
  }
  if (typeof iss !== 'string') {
    throw new InvalidTokenError('the token names no issuer');
  }
  return iss;
}

/**
 * The client must still be enabled and the credential usable; scopes within both. The principal's
 * keyId is the credential's id (what work done later on its behalf is checked against), not the
 * token's, which lives minutes.
 */
function principalOf({ grant, scopes }: VerifiedToken) {
  if (grant.revoked_at || (grant.expires_at && grant.expires_at.getTime() <= Date.now())) {
    throw new InvalidTokenError('the credential this token was obtained with is revoked or expired');
  }
  if (grant.disabled_at || !isRole(grant.role)) {
    throw new InvalidTokenError('the client of this token is disabled');
  }
  const granted = new Set(grant.scopes);
  return principalFor(
    { id: grant.client_id, name: grant.client_name, role: grant.role },
    { id: grant.credential_id, scopes: [...scopes].filter((scope) => granted.has(scope)) },
    'access_token',
  );
}

/** RFC 8705 §3: a certificate-bound token is good only over a connection with that certificate. */
function checkBinding(request: FastifyRequest, thumbprint: string | undefined): void {
  if (thumbprint === undefined) {
    return;
  }
  const peer = peerCertificateOf(request);
  if (!peer || certificateThumbprint(peer.der) !== thumbprint) {
    throw new InvalidTokenError('the token is bound to a client certificate this connection did not present');
  }
}

/** RFC 6750 §3: 401 with `error="invalid_token"` and a description (no quotes or backslashes in it). */
function refusal(reason: string): Authentication {
  const description = reason.replace(/["\\]/g, "'");
  return {
    ok: false,
    reason: `invalid access token: ${reason}`,
    challenge: `Bearer realm="spx", error="invalid_token", error_description="${description}"`,
  };
}
