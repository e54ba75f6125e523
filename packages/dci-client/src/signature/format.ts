/**
 * The DCI `signature` string (spec `MsgSignature`), an HTTP-signature-like list of parameters:
 *
 *   Signature: namespace="spdci", kidId="{sender_id}|{unique_key_id}|{algorithm}", algorithm="ed25519",
 *     created="1606970629", expires="1607030629", headers="(created) (expires) digest",
 *     signature="Base64(signing content)"
 *
 * Parsing is strict about what the verification needs (kid, algorithm, times, the covered headers,
 * base64) and lenient about the rest: spacing, the optional `Signature:` prefix, the namespace (the
 * spec writes "spdci", its reference examples "dci"). `keyId` (the Beckn name) is read as `kidId`. A malformed string raises SignatureFormatError; verify.ts answers err.signature.invalid.
 */

/** Signature algorithms: Ed25519, and RSASSA-PKCS1-v1_5 with SHA-256. */
export const SIGNATURE_ALGORITHMS = ['ed25519', 'rsa-sha256'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/** The only covered headers we sign and accept (the Beckn/DCI convention). */
export const COVERED_HEADERS = '(created) (expires) digest';
export const NAMESPACE = 'spdci';

/** The parts of a DCI key id: `{sender_id}|{unique_key_id}|{algorithm}`. */
export interface Kid {
  senderId: string;
  keyId: string;
  algorithm: SignatureAlgorithm;
}

export interface SignatureParams {
  kid: Kid;
  algorithm: SignatureAlgorithm;
  /** Unix seconds. */
  created: number;
  /** Unix seconds. */
  expires: number;
  /** The signature bytes, base64 as sent. */
  signature: string;
}

export class SignatureFormatError extends Error {
  override name = 'SignatureFormatError';
}

/** Longest signature string read: an RSA-8192 signature is about 1.4 kB of base64. */
const MAX_LENGTH = 4096;
const SECONDS = /^\d{1,12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `rsa` is read as `rsa-sha256` (some senders name the key type only). */
export function parseAlgorithm(text: string): SignatureAlgorithm | undefined {
  const name = text.toLowerCase() === 'rsa' ? 'rsa-sha256' : text.toLowerCase();
  return (SIGNATURE_ALGORITHMS as readonly string[]).includes(name)
    ? (name as SignatureAlgorithm)
    : undefined;
}

/** `{sender_id}|{unique_key_id}|{algorithm}`; no part may be empty. */
export function parseKid(text: string): Kid {
  const parts = text.split('|');
  const algorithm = parseAlgorithm(parts[2] ?? '');
  if (parts.length !== 3 || !parts[0] || !parts[1] || !algorithm) {
    throw new SignatureFormatError('kidId must be "{sender_id}|{unique_key_id}|{algorithm}"');
  }
  return { senderId: parts[0], keyId: parts[1], algorithm };
}

export const formatKid = (kid: Kid): string => `${kid.senderId}|${kid.keyId}|${kid.algorithm}`;

/** Reads a signature string; throws SignatureFormatError naming what is wrong. */
export function parseSignature(text: string): SignatureParams {
  if (text.length > MAX_LENGTH) {
    throw new SignatureFormatError(`the signature is longer than ${MAX_LENGTH} characters`);
  }
  const params = readParams(text.trim().replace(/^signature:\s*/i, ''));
  const required = (name: string) => {
    const value = params.get(name);
    if (value === undefined) {
      throw new SignatureFormatError(`the signature has no ${name} parameter`);
    }
    return value;
  };
  const kidText = params.get('kidid') ?? params.get('keyid');
  if (kidText === undefined) {
    throw new SignatureFormatError('the signature has no kidId parameter');
  }
  const kid = parseKid(kidText);
  const algorithm = parseAlgorithm(required('algorithm'));
  if (!algorithm) {
    throw new SignatureFormatError(`algorithm must be one of ${SIGNATURE_ALGORITHMS.join(', ')}`);
  }
  if (required('headers').trim().split(/\s+/).join(' ') !== COVERED_HEADERS) {
    throw new SignatureFormatError(`headers must be "${COVERED_HEADERS}"`);
  }
  const [created, expires] = [required('created'), required('expires')].map((value, i) => {
    if (!SECONDS.test(value)) {
      throw new SignatureFormatError(`${i === 0 ? 'created' : 'expires'} must be Unix seconds`);
    }
    return Number(value);
  }) as [number, number];
  const signature = required('signature');
  if (!BASE64.test(signature)) {
    throw new SignatureFormatError('signature must be base64');
  }
  return { kid, algorithm, created, expires, signature };
}

/** `name="value", ...` into a map with lower-case names; a repeated parameter is refused. */
function readParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const param = /\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)/y;
  while (param.lastIndex < text.length) {
    const start = param.lastIndex;
    const match = param.exec(text);
    if (!match) {
      throw new SignatureFormatError(`the signature cannot be read at character ${start + 1}`);
    }
    const name = match[1]!.toLowerCase();
    if (params.has(name)) {
      throw new SignatureFormatError(`the signature repeats the ${match[1]} parameter`);
    }
    params.set(name, match[2]!);
  }
  return params;
}

/** The signature string as the spec's example writes it. */
export function formatSignature(params: SignatureParams): string {
  return [
    `Signature: namespace="${NAMESPACE}"`,
    `kidId="${formatKid(params.kid)}"`,
    `algorithm="${params.algorithm}"`,
    `created="${params.created}"`,
    `expires="${params.expires}"`,
    `headers="${COVERED_HEADERS}"`,
    `signature="${params.signature}"`,
  ].join(', ');
}
