import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { RemoteJwks } from '#platform/outbound/remote-jwks';
import { CLOCK_SKEW_SECONDS, reasonOf } from './access-token.ts';
import { algorithmsFor } from './client-keys.ts';
import { OAuthError } from './errors.ts';
import type { UsableCredential } from './credentials.ts';

/**
 * Client authentication by private_key_jwt (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the
 * client signs a short JWT with its private key; we verify it with a public key registered for the
 * client (a JWK, or a JWKS URL fetched through the SSRF guard). iss and sub are the client_id, aud
 * names our issuer or token endpoint, exp lies at most 5 minutes ahead, and the jti is accepted
 * once: used ones are kept until they expire.
 */

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/**
 * Asymmetric algorithms only (client_secret_jwt, with HS*, is not offered). An Ed25519 key signs
 * as `EdDSA` or as `Ed25519`, its fully-specified name (RFC 9864), which current clients send
 * (openid-client 6).
 */
export const ASSERTION_ALGS = ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'];
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const MAX_JTI_LENGTH = 200;

export interface AssertionDeps {
  db: Kysely<DB>;
  /** Key sets of JWKS URL credentials, owned by credential id. */
  jwks: RemoteJwks;
  /** What aud may name: our issuer and our token endpoint. */
  audiences: readonly string[];
}

const invalid = (reason: string) =>
  new OAuthError('invalid_client', `the client assertion is invalid: ${reason}`);

/** The client the (unverified) assertion claims to come from: its iss, which must equal its sub. */
export function assertedClientId(assertion: string): string {
  let claims: { iss?: unknown; sub?: unknown };
  try {
    decodeProtectedHeader(assertion);
    claims = decodeJwt(assertion);
  } catch {
    throw invalid('it is not a signed JWT');
  }
  if (typeof claims.iss !== 'string' || claims.iss !== claims.sub) {
    throw invalid('iss and sub must both be the client_id');
  }
  return claims.iss;
}

/**
 * Verifies the assertion with the client's keys and consumes its jti; answers the credential whose
 * key verified it. Throws invalid_client saying what is wrong.
 */
export async function verifyClientAssertion(
  deps: AssertionDeps,
  assertion: string,
  clientId: string,
  credentials: readonly UsableCredential[],
): Promise<UsableCredential> {
  const { alg, kid } = decodeProtectedHeader(assertion);
  if (!alg || !ASSERTION_ALGS.includes(alg)) {
    throw invalid(`its algorithm ${alg ?? '(none)'} is not accepted: sign with ${ASSERTION_ALGS.join(', ')}`);
  }
  const candidates = credentials.filter((c) => c.key_id === null || kid === undefined || c.key_id === kid);
  let reason: string | undefined;
  // Why the keys that did not fit refused the algorithm (e.g. an ES256 assertion, Ed25519 keys).
  let algRefused: string | undefined;
  let signatureFailed = false;
  for (const credential of candidates) {
    try {
      const { payload } = await jwtVerify(assertion, keyOf(deps, credential), {
        issuer: clientId,
        subject: clientId,
        audience: [...deps.audiences],
        algorithms: ASSERTION_ALGS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'jti'],
      });
      await consume(deps.db, clientId, payload.jti, payload.exp!);
      return credential;
    } catch (error) {
      if (error instanceof OAuthError) {
        throw error;
      }
      // A key that did not fit: try the client's next one.
      if (error instanceof errors.JOSEAlgNotAllowed) {
        algRefused ??= error.message;
      } else if (isSignatureMismatch(error)) {
        signatureFailed = true;
      } else {
        // The signature verified (jose checks claims after it) or the keys could not be had.
        reason = reasonOf(error).replace('the token', 'the assertion');
      }
    }
  }
  if (!reason && algRefused && !signatureFailed) {
    reason = `its algorithm ${alg} is not accepted for the keys registered for this client (${algRefused})`;
  }
  throw invalid(reason ?? 'its signature does not verify with a key registered for this client');
}

const isSignatureMismatch = (error: unknown) =>
  error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey;

function keyOf(deps: AssertionDeps, credential: UsableCredential): JWTVerifyGetKey {
  if (credential.jwks_uri) {
    return deps.jwks.setFor(credential.id, credential.jwks_uri);
  }
  const jwk = credential.public_jwk as JWK;
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const algorithms = algorithmsFor(jwk);
  return async (header) => {
    if (!algorithms.includes(header.alg)) {
      throw new errors.JOSEAlgNotAllowed(`they sign with ${algorithms.join(' or ')}`);
    }
    return key;
  };
}

/** Records the jti until exp; a jti already recorded for the client is a replay. */
async function consume(db: Kysely<DB>, clientId: string, jti: unknown, exp: number): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
    throw invalid(`it may be valid for at most ${MAX_ASSERTION_LIFETIME_SECONDS} s (exp is too far ahead)`);
  }
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw invalid(`jti must be 1 to ${MAX_JTI_LENGTH} characters`);
  }
  // Expired entries of the client go first: the table holds at most 5 minutes of each client's assertions.
  await db
    .deleteFrom('oauth_used_assertions')
    .where('client_id', '=', clientId)
    .where('expires_at', '<', sql<Date>`now()`)
    .execute();
  const stored = await db
    .insertInto('oauth_used_assertions')
    .values({ client_id: clientId, jti, expires_at: new Date((exp + CLOCK_SKEW_SECONDS) * 1000) })
    .onConflict((oc) => oc.doNothing())
    .returning('jti')
    .executeTakeFirst();
  if (!stored) {
    throw invalid('it was already used (a jti is accepted once)');
  }
}
