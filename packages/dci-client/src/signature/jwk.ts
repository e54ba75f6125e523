import { createPublicKey, KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, importJWK, type JWK } from 'jose';
import type { SignatureAlgorithm } from './format.ts';

/**
 * Public keys as DCI peers publish them (JWK, a JWKS member, or an SPKI PEM), read with jose and
 * node:crypto and held to what a message signature may use: Ed25519, or RSA of 2048 to 8192 bits.
 * Private keys are refused outright, never stored.
 */

/** The JWS `alg` of our algorithms, as published in JWKS (`EdDSA` is the widely understood name). */
export const JWS_ALG: Record<SignatureAlgorithm, string> = { ed25519: 'EdDSA', 'rsa-sha256': 'RS256' };
const ALG_ALIASES: Record<SignatureAlgorithm, string[]> = {
  ed25519: ['EdDSA', 'Ed25519'],
  'rsa-sha256': ['RS256'],
};

/** JWK members that only a private (or secret) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;

export class KeyError extends Error {
  override name = 'KeyError';
}

export interface PublicKey {
  algorithm: SignatureAlgorithm;
  key: KeyObject;
  /** The public members only, with `alg` and `use: sig` (and `kid` once one is given). */
  jwk: JWK;
}

/** The algorithm a JWK's key type allows, or a KeyError saying why it may not sign DCI messages. */
function algorithmOf(jwk: JWK): SignatureAlgorithm {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return 'ed25519';
  }
  if (jwk.kty === 'RSA') {
    return 'rsa-sha256';
  }
  throw new KeyError(
    `only Ed25519 (kty OKP, crv Ed25519) and RSA keys are accepted, not kty ${String(jwk.kty)}` +
      (jwk.crv ? ` crv ${jwk.crv}` : ''),
  );
}

/** The input as a JWK with public members only; a KeyError for anything else (private keys above all). */
export function publicMembers(input: unknown): JWK {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new KeyError('a JWK must be a JSON object');
  }
  const jwk = input as JWK;
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
    throw new KeyError(
      'this is a private or secret key: send the public key only (and treat this one as disclosed)',
    );
  }
  return jwk;
}

/** Reads a public JWK: refuses private keys, other key types, short RSA keys and a conflicting `alg`. */
export async function publicKeyFromJwk(input: unknown): Promise<PublicKey> {
  const jwk = publicMembers(input);
  const algorithm = algorithmOf(jwk);
  if (jwk.alg !== undefined && !ALG_ALIASES[algorithm].includes(jwk.alg)) {
    throw new KeyError(`alg ${jwk.alg} does not fit this key (use ${ALG_ALIASES[algorithm].join(' or ')})`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new KeyError('use must be "sig"');
  }
  let key: KeyObject;
  try {
    const imported = await importJWK(jwk, jwk.alg ?? JWS_ALG[algorithm], { extractable: true });
    key =
      imported instanceof Uint8Array
        ? createPublicKey({ key: jwk, format: 'jwk' })
        : KeyObject.from(imported);
  } catch (error) {
    throw new KeyError(`the JWK cannot be read: ${(error as Error).message}`);
  }
  return checked(key, algorithm);
}

/** Reads an SPKI PEM (`-----BEGIN PUBLIC KEY-----`); a private key PEM is refused, not derived from. */
export async function publicKeyFromPem(pem: string): Promise<PublicKey> {
  return publicKeyFromJwk(await publicJwkFromPem(pem));
}

/** The JWK of an SPKI PEM public key; a KeyError for a private key PEM or anything else. */
export async function publicJwkFromPem(pem: string): Promise<JWK> {
  const text = pem.trim();
  if (/PRIVATE KEY-----/.test(text)) {
    throw new KeyError('this is a private key: send the public key only (and treat this one as disclosed)');
  }
  if (!/^-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----$/.test(text)) {
    throw new KeyError('a PEM key must be an SPKI public key (-----BEGIN PUBLIC KEY-----)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem', type: 'spki' });
  } catch (error) {
    throw new KeyError(`the PEM key cannot be read: ${(error as Error).message}`);
  }
  return exportJWK(key);
}

async function checked(key: KeyObject, algorithm: SignatureAlgorithm): Promise<PublicKey> {
  if (key.type !== 'public') {
    throw new KeyError('a public key is required');
  }
  if (algorithm === 'rsa-sha256') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new KeyError(`RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, not ${bits}`);
    }
  } else if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyError('the key is not an Ed25519 key');
  }
  const exported = await exportJWK(key);
  return { algorithm, key, jwk: { ...exported, alg: JWS_ALG[algorithm], use: 'sig' } };
}

/** The RFC 7638 thumbprint: a stable key id for a key that came without one. */
export const thumbprintOf = (jwk: JWK): Promise<string> => calculateJwkThumbprint(jwk, 'sha256');
