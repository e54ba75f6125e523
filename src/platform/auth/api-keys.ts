import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `spx_<prefix>_<secret>`: the prefix finds the stored row, the secret is checked
 * against its SHA-256 hash. Keys are 256-bit random values, so a fast hash is enough (no password
 * stretching needed); the plain key is shown once and never stored.
 */
const KEY_PATTERN = /^spx_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  key: string;
  prefix: string;
  secretHash: Buffer;
}

export function generateApiKey(): NewKey {
  const prefix = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return { key: `spx_${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) };
}

export function parseApiKey(key: string): { prefix: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(key);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** Constant-time check of a presented secret against the stored hash. */
export const secretMatches = (secret: string, storedHash: Buffer): boolean => {
  const presented = hashSecret(secret);
  return presented.length === storedHash.length && timingSafeEqual(presented, storedHash);
};
