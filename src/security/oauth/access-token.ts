import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { AddressRefusedError } from '#platform/outbound/address';
import { TOKEN_ALG, type TokenKeys } from './signing-keys.ts';

/**
 * Our access tokens: JWTs in the RFC 9068 profile (header typ `at+jwt`; iss, sub = client_id, aud,
 * client_id, scope, iat, exp, jti), signed with our current key. They also carry the id of the
 * credential the client authenticated with, so that revoking it stops its tokens, and, when issued
 * over mutual TLS, the certificate they are bound to (RFC 8705 `cnf.x5t#S256`).
 */

export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Clock difference tolerated between us and the other party, on exp, nbf and iat. */
export const CLOCK_SKEW_SECONDS = 30;

export interface TokenAudience {
  issuer: string;
  audience: string;
}

export interface AccessTokenGrant {
  clientId: string;
  credentialId: string;
  scopes: readonly string[];
  /** RFC 8705: the x5t#S256 of the client certificate of the token request. */
  certificateThumbprint?: string | undefined;
}

/** What a verified token of ours says. */
export interface OwnTokenClaims {
  jti: string;
  clientId: string;
  credentialId: string;
  scopes: string[];
  certificateThumbprint: string | undefined;
  /** When it expires, in ms (exp), clock skew included. */
  expiresAt: number;
}

/** A token refused; the description may be shown to the caller (RFC 6750 error_description). */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** Signs an access token for a grant; `ttlSeconds` is its lifetime. */
export async function issueAccessToken(
  keys: TokenKeys,
  where: TokenAudience & { ttlSeconds: number },
  grant: AccessTokenGrant,
): Promise<string> {
  const key = await keys.signingKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    client_id: grant.clientId,
    scope: grant.scopes.join(' '),
    credential_id: grant.credentialId,
    ...(grant.certificateThumbprint ? { cnf: { 'x5t#S256': grant.certificateThumbprint } } : {}),
  })
    .setProtectedHeader({ alg: TOKEN_ALG, typ: ACCESS_TOKEN_TYPE, kid: key.kid })
    .setIssuer(where.issuer)
    .setSubject(grant.clientId)
    .setAudience(where.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + where.ttlSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

/** Verifies a token of ours (signature, typ, iss, aud, exp, nbf) and reads its claims. */
export async function verifyAccessToken(
  keys: TokenKeys,
  where: TokenAudience,
  token: string,
): Promise<OwnTokenClaims> {
  const { payload } = await jwtVerify(token, keys.verificationKey, {
    issuer: where.issuer,
    audience: where.audience,
    typ: ACCESS_TOKEN_TYPE,
    algorithms: [TOKEN_ALG],
    clockTolerance: CLOCK_SKEW_SECONDS,
    requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope', 'credential_id'],
  }).catch((error: unknown) => {
    throw new InvalidTokenError(reasonOf(error));
  });
  const { sub, jti, client_id, credential_id, scope } = payload;
  if (typeof client_id !== 'string' || client_id !== sub || typeof credential_id !== 'string') {
    throw new InvalidTokenError('the token does not name its client consistently');
  }
  if (typeof scope !== 'string') {
    throw new InvalidTokenError('the scope claim must be a string');
  }
  return {
    jti: jti!,
    clientId: client_id,
    credentialId: credential_id,
    scopes: scope.split(' ').filter(Boolean),
    certificateThumbprint: certificateThumbprintOf(payload),
    expiresAt: (payload.exp! + CLOCK_SKEW_SECONDS) * 1000,
  };
}

/** The RFC 8705 binding of a token (`cnf.x5t#S256`), if it has one. */
export function certificateThumbprintOf(payload: JWTPayload): string | undefined {
  const cnf = payload['cnf'];
  if (cnf === undefined) {
    return undefined;
  }
  const thumbprint = (cnf as Record<string, unknown> | null)?.['x5t#S256'];
  if (typeof thumbprint !== 'string') {
    // A confirmation we cannot check must not be ignored (RFC 7800 §3.1).
    throw new InvalidTokenError('the token is bound to a key of a kind this gateway does not check');
  }
  return thumbprint;
}

/** Why jose refused a token, in words that tell the caller what to fix and nothing more. */
export function reasonOf(error: unknown): string {
  if (error instanceof InvalidTokenError) {
    return error.message;
  }
  if (error instanceof errors.JWTExpired) {
    return 'the token expired';
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `the token's ${error.claim} ${error.claim === 'typ' ? 'header' : 'claim'} is not accepted (${error.reason.replaceAll('_', ' ')})`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'the token signature does not verify';
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return 'the token is not signed with an accepted algorithm';
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'the token is not signed with a key of its issuer';
  }
  if (error instanceof errors.JOSEError) {
    return 'the token is malformed';
  }
  // The SSRF guard's refusal names only the host of a registered JWKS URL; other failures say nothing.
  const detail = error instanceof AddressRefusedError ? `: ${error.message}` : '';
  return `the issuer's keys could not be read${detail}`;
}
