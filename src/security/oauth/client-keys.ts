import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/**
 * Public keys clients register for private_key_jwt: a JWK of an Ed25519, P-256 or RSA (2048 to
 * 8192 bits) key, held to the algorithm it may sign with. A private key is refused outright and
 * never stored: only the public members are kept.
 */

/** The assertion algorithm each key type allows (alg, when the JWK names one, must be one of them). */
const ALGS_OF: Record<string, readonly string[]> = {
  Ed25519: ['EdDSA', 'Ed25519'],
  'P-256': ['ES256'],
  RSA: ['RS256', 'PS256'],
};
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

/** A JWK that can not be registered, and why. */
export class ClientKeyError extends Error {
  override name = 'ClientKeyError';
}

export interface ClientPublicKey {
  /** The public members, with kid and use: sig (and alg when given). */
  jwk: JWK;
  kid: string;
}

/** Reads a JWK upload; the kid is `keyId`, else the JWK's, else its RFC 7638 thumbprint. */
export async function readClientKey(
  input: Record<string, unknown>,
  keyId?: string,
): Promise<ClientPublicKey> {
  const jwk = input as JWK;
  if (isPrivate(jwk)) {
    throw new ClientKeyError(
      'this is a private key: send the public key only (and treat this one as disclosed)',
    );
  }
  const key = publicKeyOf(jwk);
  const type = typeOf(key);
  if (jwk.alg !== undefined && !ALGS_OF[type]!.includes(jwk.alg)) {
    throw new ClientKeyError(`alg ${jwk.alg} does not fit this key (use ${ALGS_OF[type]!.join(' or ')})`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new ClientKeyError('use must be "sig"');
  }
  if (keyId !== undefined && jwk.kid !== undefined && jwk.kid !== keyId) {
    throw new ClientKeyError(`the JWK's kid ${jwk.kid} differs from key_id ${keyId}`);
  }
  const members = await exportJWK(key);
  const kid = keyId ?? jwk.kid ?? (await calculateJwkThumbprint(members, 'sha256'));
  return { kid, jwk: { ...members, kid, use: 'sig', ...(jwk.alg ? { alg: jwk.alg } : {}) } };
}

/**
 * The algorithms a registered key may sign assertions with. EdDSA and Ed25519 name the same
 * signature of an Ed25519 key (RFC 9864): a key registered with either alg accepts both.
 */
export function algorithmsFor(jwk: JWK): readonly string[] {
  if (jwk.alg !== undefined && jwk.kty !== 'OKP') {
    return [jwk.alg];
  }
  return ALGS_OF[jwk.kty === 'OKP' ? 'Ed25519' : jwk.kty === 'EC' ? 'P-256' : 'RSA']!;
}

// Node reads a private key from a private JWK (and would derive a public key from it without a word).
function isPrivate(jwk: JWK): boolean {
  try {
    createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

function publicKeyOf(jwk: JWK): KeyObject {
  try {
    return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new ClientKeyError(`the JWK cannot be read: ${(error as Error).message}`);
  }
}

/** Ed25519, P-256 or RSA within the size limits; anything else is refused. */
function typeOf(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ed25519') {
    return 'Ed25519';
  }
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') {
    return 'P-256';
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new ClientKeyError(`RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, not ${bits}`);
    }
    return 'RSA';
  }
  throw new ClientKeyError('only Ed25519 (OKP), P-256 (EC) and RSA keys are accepted');
}
