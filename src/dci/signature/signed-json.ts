import { createHash } from 'node:crypto';
import {
  canonicalStringify,
  digestText,
  signDigest,
  type Signable,
  type SigningKey,
  type SignOptions,
} from '@spx/dci-client';
import { slicedJson, type JsonWriting } from '#platform/http/long-reads';

/** Canonical JSON (RFC 8785) written in pieces by jsonPieces: the same text as canonicalJson. */
export const CANONICAL: JsonWriting = { write: canonicalStringify, sortKeys: true };

/**
 * The signed envelope as JSON text, canonicalised once: the canonical `{"header":…,"message":…}` the
 * signature covers is itself valid JSON, so the body is that text with the signature put first. This
 * saves serialising a large answer a second time (canonical JSON costs three times JSON.stringify).
 * The text is written and hashed a few records at a time, giving the event loop back in between:
 * 1,000 Group records take some 400 ms to write, which no other request should wait for.
 */
export async function signedEnvelopeJson(
  envelope: Signable,
  key: SigningKey,
  options: SignOptions = {},
): Promise<string> {
  const hash = createHash('blake2b512');
  const canonical = await slicedJson(
    { header: envelope.header, message: envelope.message },
    CANONICAL,
    (piece) => hash.update(piece, 'utf8'),
  );
  const signature = JSON.stringify(signDigest(digestText(hash), key, options));
  return `{"signature":${signature},${canonical.slice(1)}`;
}
