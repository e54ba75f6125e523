import type { KeyObject } from 'node:crypto';
import { DciMessageError } from '../errors.ts';
import { parseSignature, SignatureFormatError, type Kid, type SignatureParams } from './format.ts';
import { envelopeDigest, signingString, verifyBytes, type Signable } from './sign.ts';

/**
 * Verifying the signature of an incoming DCI message, without HTTP: the caller says whether one is
 * required and how to find the sender's key. Every failure is a DciMessageError `err.signature.invalid`
 * (HTTP 401) with a reason; a required signature that is absent is `err.signature.missing`.
 *
 * A signature that is not required is not checked: it would protect nothing (whoever forges a
 * message can leave it out), and reference clients send placeholders in it (the spdci compliance
 * examples carry `signature="<base64>"`). A client that signs everything gets the policy 'all'.
 */

export interface SignatureLimits {
  /** How far `created` may lie in the future (clock skew), in seconds. */
  skewSeconds: number;
  /** Longest `expires - created` accepted, in seconds (the spec's example spans 16.7 hours). */
  maxLifetimeSeconds: number;
}

export const DEFAULT_SIGNATURE_LIMITS: SignatureLimits = { skewSeconds: 300, maxLifetimeSeconds: 86_400 };

/** Finds the public key of `kid` for the sender, or throws err.signature.invalid saying why not. */
export type KeyLookup = (kid: Kid) => Promise<KeyObject>;

export interface VerifyOptions {
  required: boolean;
  now: Date;
  limits: SignatureLimits;
  findKey: KeyLookup;
}

export const invalidSignature = (reason: string) =>
  new DciMessageError('err.signature.invalid', `the signature is invalid: ${reason}`);

export async function verifyEnvelope(
  envelope: Signable & { signature?: unknown },
  options: VerifyOptions,
): Promise<void> {
  const { signature } = envelope;
  if (!options.required) {
    return;
  }
  if (signature === undefined || signature === null || signature === '') {
    throw new DciMessageError(
      'err.signature.missing',
      'this message must be signed: a signature of its header and message with a key registered for you',
    );
  }
  if (typeof signature !== 'string') {
    throw invalidSignature('signature must be a string');
  }
  const params = parsed(signature);
  checkParams(params, envelope.header, options);
  const key = await options.findKey(params.kid);
  const data = Buffer.from(signingString(params.created, params.expires, envelopeDigest(envelope)), 'utf8');
  if (!verifyBytes(params.algorithm, data, key, Buffer.from(params.signature, 'base64'))) {
    throw invalidSignature('it does not match the header and message with this key');
  }
}

function parsed(signature: string): SignatureParams {
  try {
    return parseSignature(signature);
  } catch (error) {
    if (error instanceof SignatureFormatError) {
      throw invalidSignature(error.message);
    }
    throw error;
  }
}

/** The checks that need no key: who signed, with what, and when. */
function checkParams(params: SignatureParams, header: unknown, options: VerifyOptions): void {
  const senderId = (header as { sender_id?: unknown } | undefined)?.sender_id;
  if (params.kid.senderId !== senderId) {
    throw invalidSignature(`the kid names sender ${params.kid.senderId}, the header ${String(senderId)}`);
  }
  if (params.kid.algorithm !== params.algorithm) {
    throw invalidSignature(`the kid names ${params.kid.algorithm}, the algorithm is ${params.algorithm}`);
  }
  const now = Math.floor(options.now.getTime() / 1000);
  const { skewSeconds, maxLifetimeSeconds } = options.limits;
  if (params.created > now + skewSeconds) {
    throw invalidSignature(`created lies ${params.created - now} s in the future`);
  }
  if (params.expires <= now) {
    throw invalidSignature(`it expired ${now - params.expires} s ago`);
  }
  if (params.expires <= params.created) {
    throw invalidSignature('expires must come after created');
  }
  if (params.expires - params.created > maxLifetimeSeconds) {
    throw invalidSignature(`it may be valid for at most ${maxLifetimeSeconds} s`);
  }
}
