import { createHash, sign, verify, type Hash, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import { formatSignature, type Kid, type SignatureAlgorithm, type SignatureParams } from './format.ts';

/**
 * What a DCI signature covers, and the signing itself (node:crypto with KeyObjects; no home-made
 * crypto). Spec `MsgSignature`: "Signature of {header}+{message} body". We follow the Beckn/DCI
 * convention for the rest:
 *
 * - digest: `BLAKE-512=` + base64(BLAKE2b-512(JCS({ header, message }))), where JCS is the RFC 8785
 *   canonical JSON (sorted keys, no spaces, ECMAScript number form), so that the digest does not
 *   depend on how the JSON was spaced or ordered on the wire. A missing message is left out.
 * - signing string: `(created): <created>\n(expires): <expires>\ndigest: BLAKE-512=<base64>`.
 * - `ed25519`: Ed25519 (RFC 8032) over the signing string; `rsa-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
 */

/** The envelope parts a signature covers. */
export interface Signable {
  header: unknown;
  message?: unknown;
}

/** The canonical JSON (RFC 8785) of `{ header, message }`: what the digest covers. */
function canonicalEnvelope(envelope: Signable): string {
  return canonicalJson({ header: envelope.header, message: envelope.message });
}

/** The digest's text, `BLAKE-512=<base64>`, of a BLAKE2b-512 hash fed with the canonical JSON (in pieces or whole). */
export const digestText = (hash: Hash): string => `BLAKE-512=${hash.digest('base64')}`;

const digestOf = (canonical: string): string =>
  digestText(createHash('blake2b512').update(canonical, 'utf8'));

/** `BLAKE-512=<base64>` of the canonical JSON of `{ header, message }`. */
export const envelopeDigest = (envelope: Signable): string => digestOf(canonicalEnvelope(envelope));

export const signingString = (created: number, expires: number, digest: string): string =>
  `(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`;

/** The signature of `data` (Ed25519 takes no separate hash; RSA signs its SHA-256). */
export const signBytes = (algorithm: SignatureAlgorithm, data: Buffer, key: KeyObject): Buffer =>
  sign(algorithm === 'ed25519' ? null : 'sha256', data, key);

export const verifyBytes = (
  algorithm: SignatureAlgorithm,
  data: Buffer,
  key: KeyObject,
  signature: Buffer,
): boolean => verify(algorithm === 'ed25519' ? null : 'sha256', data, key, signature);

/** A private key with the kid it signs under. */
export interface SigningKey {
  kid: Kid;
  privateKey: KeyObject;
}

export interface SignOptions {
  /** Unix seconds; default now. */
  created?: number;
  /** Unix seconds; default created + lifetimeSeconds. */
  expires?: number;
  /** Default 3600. */
  lifetimeSeconds?: number;
}

/** The `signature` string of an envelope, signed with `key`. */
export const signatureOf = (envelope: Signable, key: SigningKey, options: SignOptions = {}): string =>
  signDigest(digestOf(canonicalEnvelope(envelope)), key, options);

/** The `signature` string over a digest (`digestText`), for a signer that canonicalised the envelope itself. */
export function signDigest(digest: string, key: SigningKey, options: SignOptions = {}): string {
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const expires = options.expires ?? created + (options.lifetimeSeconds ?? 3600);
  const data = Buffer.from(signingString(created, expires, digest), 'utf8');
  const params: SignatureParams = {
    kid: key.kid,
    algorithm: key.kid.algorithm,
    created,
    expires,
    signature: signBytes(key.kid.algorithm, data, key.privateKey).toString('base64'),
  };
  return formatSignature(params);
}

/** The envelope with its `signature` (first, as the spec lists it), replacing any it had. */
export function signEnvelope<T extends Signable>(
  envelope: T,
  key: SigningKey,
  options?: SignOptions,
): T & { signature: string } {
  const { signature: _old, ...rest } = envelope as T & { signature?: unknown };
  return { signature: signatureOf(envelope, key, options), ...rest } as T & { signature: string };
}
