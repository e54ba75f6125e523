import { jwtVerify, type JWTPayload } from 'jose';
import { isPermission, isRole, roleDefinitions, type Permission } from '#platform/auth/roles';
import type { RemoteJwks } from '#platform/outbound/remote-jwks';
import { certificateThumbprintOf, CLOCK_SKEW_SECONDS, InvalidTokenError, reasonOf } from './access-token.ts';
import type { ProviderRecord } from './providers.ts';

/**
 * Access tokens of an external identity provider (Keycloak, WSO2...): verified against the
 * provider's JWKS (through the SSRF guard, cached, refetched for an unknown kid), its issuer and our
 * audience at that provider; then read for the client they were issued to (client_claim) and the
 * permissions they carry (permissions_claim through permissions_map). Also the ID tokens of a
 * person signing in to the console through the provider.
 */

/** Asymmetric algorithms only: a shared-secret (HS*) token could be forged by anyone holding it. */
const EXTERNAL_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

export interface ExternalTokenClaims {
  jti: string | undefined;
  /** The value of the provider's client claim: who the token was issued to. */
  externalId: string;
  permissions: ReadonlySet<Permission>;
  /** RFC 8705: the certificate the provider bound the token to, if it did. */
  certificateThumbprint: string | undefined;
}

export async function verifyExternalToken(
  provider: ProviderRecord,
  jwks: RemoteJwks,
  token: string,
): Promise<ExternalTokenClaims> {
  const { payload } = await jwtVerify(token, jwks.setFor(provider.id, provider.jwks_uri), {
    issuer: provider.issuer,
    audience: provider.audience,
    algorithms: EXTERNAL_ALGS,
    clockTolerance: CLOCK_SKEW_SECONDS,
    requiredClaims: ['exp'],
  }).catch((error: unknown) => {
    throw new InvalidTokenError(reasonOf(error));
  });
  const externalId = claimAt(payload, provider.client_claim);
  if (typeof externalId !== 'string' || externalId === '') {
    throw new InvalidTokenError(`the token has no ${provider.client_claim} claim naming its client`);
  }
  return {
    jti: typeof payload.jti === 'string' ? payload.jti : undefined,
    externalId,
    permissions: mappedPermissions(provider, payload),
    certificateThumbprint: certificateThumbprintOf(payload),
  };
}

/**
 * An OpenID Connect ID token of the provider (OIDC Core §3.1.3.7): signed by one of its keys, its
 * issuer, for our client (`aud`, and `azp` when it names several audiences), not expired, carrying
 * the nonce of the sign-in it answers. Resolves with the subject: who signed in at the provider.
 */
export async function verifyIdToken(
  provider: ProviderRecord,
  jwks: RemoteJwks,
  token: string,
  expected: { clientId: string; nonce: string },
): Promise<{ subject: string }> {
  const { payload } = await jwtVerify(token, jwks.setFor(provider.id, provider.jwks_uri), {
    issuer: provider.issuer,
    audience: expected.clientId,
    algorithms: EXTERNAL_ALGS,
    clockTolerance: CLOCK_SKEW_SECONDS,
    requiredClaims: ['exp', 'iat', 'sub', 'nonce'],
  }).catch((error: unknown) => {
    throw new InvalidTokenError(reasonOf(error));
  });
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload['azp'] !== expected.clientId) {
    throw new InvalidTokenError('the ID token names several audiences but not us as its azp');
  }
  if (payload['nonce'] !== expected.nonce) {
    throw new InvalidTokenError('the ID token answers another sign-in (nonce)');
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw new InvalidTokenError('the ID token names no subject');
  }
  return { subject: payload.sub };
}

/**
 * A claim by name, or by a dotted path into nested objects (`realm_access.roles`): a claim whose
 * own name has dots (a URI) is found first.
 */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) {
    return payload[path];
  }
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * Our permissions in a token: the values of the permissions claim (a space-separated string, as
 * `scope`, or an array, as Keycloak's roles), each mapped to one of our roles (all its permissions)
 * or one permission; without a map, values that are our permission names count as themselves.
 * Unknown values grant nothing.
 */
export function mappedPermissions(
  provider: Pick<ProviderRecord, 'permissions_claim' | 'permissions_map'>,
  payload: JWTPayload,
): ReadonlySet<Permission> {
  const granted = new Set<Permission>();
  const mapped = Object.keys(provider.permissions_map).length > 0;
  for (const value of claimValues(claimAt(payload, provider.permissions_claim))) {
    // Role names count only through the map: a provider's own "admin" must not become ours.
    const ours = mapped ? ownValue(provider.permissions_map, value) : value;
    if (mapped && ours !== undefined && isRole(ours)) {
      roleDefinitions[ours].permissions.forEach((permission) => granted.add(permission));
    } else if (ours !== undefined && isPermission(ours)) {
      granted.add(ours);
    }
  }
  return granted;
}

const ownValue = (map: Record<string, string>, key: string): string | undefined =>
  Object.hasOwn(map, key) ? map[key] : undefined;

function claimValues(claim: unknown): string[] {
  if (typeof claim === 'string') {
    return claim.split(' ').filter(Boolean);
  }
  return Array.isArray(claim) ? claim.filter((v): v is string => typeof v === 'string') : [];
}
