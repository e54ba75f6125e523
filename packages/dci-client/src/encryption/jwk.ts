import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { KeyError, MAX_RSA_BITS, MIN_RSA_BITS, publicJwkFromPem, publicMembers } from '../signature/jwk.ts';

/**
 * The public keys a client registers for us to encrypt its DCI messages to (use "enc"): EC (P-256,
 * P-384, P-521) or X25519 keys with ECDH-ES+A256KW, RSA keys of 2048 to 8192 bits with RSA-OAEP-256
 * (RFC 7518 §4.6, §4.3). Content is always encrypted with A256GCM. Private keys are refused.
 */

export const KEY_MANAGEMENT_ALGORITHMS = ['ECDH-ES+A256KW', 'RSA-OAEP-256'] as const;
export type KeyManagementAlgorithm = (typeof KEY_MANAGEMENT_ALGORITHMS)[number];
/** The content encryption of every JWE we make or accept. */
export const CONTENT_ENCRYPTION = 'A256GCM';

const ECDH_CURVES = ['P-256', 'P-384', 'P-521', 'X25519'];

export interface PublicEncryptionKey {
  algorithm: KeyManagementAlgorithm;
  key: KeyObject;
  /** The public members only, with `alg` and `use: enc`. */
  jwk: JWK;
}

function algorithmOf(jwk: JWK): KeyManagementAlgorithm {
  if ((jwk.kty === 'EC' || jwk.kty === 'OKP') && ECDH_CURVES.includes(String(jwk.crv))) {
    return 'ECDH-ES+A256KW';
  }
  if (jwk.kty === 'RSA') {
    return 'RSA-OAEP-256';
  }
  throw new KeyError(
    `encryption keys must be EC (${ECDH_CURVES.slice(0, 3).join(', ')}), X25519 or RSA, not kty ` +
      `${String(jwk.kty)}${jwk.crv ? ` crv ${jwk.crv}` : ''}`,
  );
}

/** Reads a public encryption JWK: refuses private keys, other key types, short RSA keys, a conflicting alg or use. */
export async function publicEncryptionKeyFromJwk(input: unknown): Promise<PublicEncryptionKey> {
  const jwk = publicMembers(input);
  const algorithm = algorithmOf(jwk);
  if (jwk.alg !== undefined && jwk.alg !== algorithm) {
    throw new KeyError(`alg ${jwk.alg} does not fit this key (use ${algorithm})`);
  }
  if (jwk.use !== undefined && jwk.use !== 'enc') {
    throw new KeyError('use must be "enc" for an encryption key');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new KeyError(`the JWK cannot be read: ${(error as Error).message}`);
  }
  if (algorithm === 'RSA-OAEP-256') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new KeyError(`RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, not ${bits}`);
    }
  }
  return { algorithm, key, jwk: { ...(await exportJWK(key)), alg: algorithm, use: 'enc' } };
}

/** The key management algorithm a key of ours or a peer's works with (RSA, or elliptic curve). */
export const keyManagementAlgorithmOf = (key: KeyObject): KeyManagementAlgorithm =>
  key.asymmetricKeyType === 'rsa' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';

/** Reads an SPKI PEM public encryption key. */
export async function publicEncryptionKeyFromPem(pem: string): Promise<PublicEncryptionKey> {
  return publicEncryptionKeyFromJwk(await publicJwkFromPem(pem));
}
