import { KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type LocalJWKSet,
  type RemoteJWKSet,
} from 'jose';
import { isEnvelope } from './messages.ts';
import { parseSignature, type Kid, type SignatureParams } from './signature/format.ts';
import { JWS_ALG } from './signature/jwk.ts';
import {
  DEFAULT_SIGNATURE_LIMITS,
  invalidSignature,
  verifyEnvelope,
  type SignatureLimits,
} from './signature/verify.ts';

/**
 * Checking that a DCI message was signed by a peer whose public keys you know: a registry such as
 * SP Exchange publishes them at `/.well-known/jwks.json`. The checks are the gateway's own for the
 * messages it receives (signature/verify.ts): the kid names the header's sender_id and the signature's
 * algorithm, `created` and `expires` lie within the limits, and the signature covers the digest of the
 * canonical `{ header, message }`. Any failure is a DciMessageError (`err.signature.*`) saying why.
 */

/** The signer's public keys: a JWKS URL (fetched, cached, fetched again for an unknown kid), or the set. */
export type KeySource = string | URL | JSONWebKeySet;

/** A key set as jose reads it (createLocalJWKSet, createRemoteJWKSet). */
export type JoseKeySet = LocalJWKSet | RemoteJWKSet;

export interface SignatureCheckOptions {
  /** The id the signer must sign as: the first part of its kid (and so the header's sender_id). */
  senderId?: string;
  /** The clock of the check; default now. */
  now?: () => Date;
  limits?: Partial<SignatureLimits>;
}

/** Checks one message: what signed it (kid, created, expires), or a DciMessageError. */
export type SignatureCheck = (message: unknown) => Promise<SignatureParams>;

export const keySetOf = (keys: KeySource): JoseKeySet =>
  typeof keys === 'string' || keys instanceof URL
    ? createRemoteJWKSet(new URL(keys))
    : createLocalJWKSet(keys);

/** A check of messages signed with a key of this set (make one per peer: a remote set is cached). */
export function verifierFor(keys: JoseKeySet, options: SignatureCheckOptions = {}): SignatureCheck {
  const limits = { ...DEFAULT_SIGNATURE_LIMITS, ...options.limits };
  const now = options.now ?? (() => new Date());
  const findKey = async (kid: Kid): Promise<KeyObject> => {
    if (options.senderId !== undefined && kid.senderId !== options.senderId) {
      throw invalidSignature(`it was made by ${kid.senderId}, not by ${options.senderId}`);
    }
    try {
      // jose hands out WebCrypto keys; node:crypto verifies with KeyObjects.
      return KeyObject.from(await keys({ alg: JWS_ALG[kid.algorithm], kid: kid.keyId }));
    } catch (error) {
      throw invalidSignature(
        error instanceof errors.JWKSNoMatchingKey
          ? `the signer publishes no ${kid.algorithm} key ${kid.keyId}`
          : `the signer's keys could not be read: ${(error as Error).message}`,
      );
    }
  };
  return async (message) => {
    if (!isEnvelope(message)) {
      throw invalidSignature('this is no DCI envelope ({ signature, header, message })');
    }
    await verifyEnvelope(message, { required: true, now: now(), limits, findKey });
    // It verified, so it reads.
    return parseSignature(message.signature as string);
  };
}

/** A check of messages signed with these keys: a JWKS URL is read once and kept (see KeySource). */
export const signatureVerifier = (keys: KeySource, options?: SignatureCheckOptions): SignatureCheck =>
  verifierFor(keySetOf(keys), options);

/**
 * Checks one message's signature against these keys. For many messages from one peer, make one
 * signatureVerifier instead: it keeps the JWKS between checks.
 */
export const verifySignature = (
  message: unknown,
  keys: KeySource,
  options?: SignatureCheckOptions,
): Promise<SignatureParams> => signatureVerifier(keys, options)(message);
