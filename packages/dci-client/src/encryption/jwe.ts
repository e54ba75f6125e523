import type { KeyObject } from 'node:crypto';
import { errors, flattenedDecrypt, FlattenedEncrypt } from 'jose';
import { CONTENT_ENCRYPTION, type KeyManagementAlgorithm } from './jwk.ts';

/**
 * The `message` of a DCI envelope encrypted, without HTTP: the spec's `EncryptedMessage`
 * (`header {alg, enc, kid}`, `encrypted_key`, `iv`, `ciphertext`, `tag`) is a JWE in the flattened
 * JSON serialisation (RFC 7516 §7.2.2), its `header` being the per-recipient unprotected header. The
 * plaintext is the JSON of the plain message. With ECDH-ES the ephemeral key (`epk`) travels in the
 * `protected` member, which the spec does not name and allows. Content: A256GCM; no compression.
 * Used by the gateway (encryption/service.ts) and by the typed DCI client.
 */

export interface EncryptedMessage {
  header: { alg: string; enc: string; kid: string } & Record<string, unknown>;
  protected?: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad?: string;
}

/** A message that cannot be decrypted, or is no EncryptedMessage; the reason may be shown to its sender. */
export class EncryptionError extends Error {
  override name = 'EncryptionError';
}

/** Whom a message is encrypted to: their public key and its kid. */
export interface Recipient {
  kid: string;
  algorithm: KeyManagementAlgorithm;
  key: KeyObject;
}

export function encryptMessage(message: unknown, to: Recipient): Promise<EncryptedMessage> {
  return encryptJson(JSON.stringify(message), to);
}

/** encryptMessage for a message given as its JSON text (written beforehand, e.g. a slice at a time). */
export async function encryptJson(json: string, to: Recipient): Promise<EncryptedMessage> {
  const plaintext = new TextEncoder().encode(json);
  const jwe = await new FlattenedEncrypt(plaintext)
    .setUnprotectedHeader({ alg: to.algorithm, enc: CONTENT_ENCRYPTION, kid: to.kid })
    .encrypt(to.key);
  return jwe as EncryptedMessage;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const PARTS = ['encrypted_key', 'iv', 'ciphertext', 'tag'] as const;

/** The value as an EncryptedMessage, or an EncryptionError naming what is missing. */
export function readEncryptedMessage(value: unknown): EncryptedMessage {
  const message = value as Partial<EncryptedMessage> | null | undefined;
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new EncryptionError(
      'message must be an EncryptedMessage (a JWE in the flattened JSON serialisation)',
    );
  }
  const header = message.header;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new EncryptionError('message.header must be an object naming alg, enc and kid');
  }
  for (const name of ['alg', 'enc', 'kid'] as const) {
    if (typeof header[name] !== 'string' || header[name] === '') {
      throw new EncryptionError(`message.header.${name} must be a non-empty string`);
    }
  }
  for (const name of PARTS) {
    const part = message[name];
    if (typeof part !== 'string' || !BASE64URL.test(part) || (name !== 'encrypted_key' && part === '')) {
      throw new EncryptionError(`message.${name} must be a base64url string`);
    }
  }
  return message as EncryptedMessage;
}

/** The plain message of an EncryptedMessage, decrypted with `key` (which must be of `algorithm`). */
export async function decryptMessage(
  encrypted: EncryptedMessage,
  key: KeyObject,
  algorithm: KeyManagementAlgorithm,
): Promise<Record<string, unknown>> {
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await flattenedDecrypt(encrypted, key, {
      keyManagementAlgorithms: [algorithm],
      contentEncryptionAlgorithms: [CONTENT_ENCRYPTION],
      maxDecompressedLength: 0, // no "zip": a compressed plaintext could be a decompression bomb
    }));
  } catch (error) {
    throw new EncryptionError(reasonOf(error, algorithm));
  }
  const message: unknown = parseJson(new TextDecoder().decode(plaintext));
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new EncryptionError('the decrypted message is not a JSON object');
  }
  return message as Record<string, unknown>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new EncryptionError('the decrypted message is not JSON');
  }
}

/** Why jose refused: what the sender can fix, and nothing about our key. */
function reasonOf(error: unknown, algorithm: string): string {
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return `only ${algorithm} with ${CONTENT_ENCRYPTION} is accepted`;
  }
  if (error instanceof errors.JOSENotSupported) {
    return `the JWE uses a feature that is not accepted (${CONTENT_ENCRYPTION}, no compression)`;
  }
  if (error instanceof errors.JWEDecryptionFailed) {
    return 'it does not decrypt with the key its kid names (a wrong key, or the message was altered)';
  }
  if (error instanceof errors.JOSEError) {
    return `the JWE is malformed: ${error.message}`;
  }
  throw error;
}
