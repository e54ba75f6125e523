import { createHmac, randomBytes } from 'node:crypto';
import type { Lookups } from '#platform/http/types';

/**
 * What the guard keeps of the keys a client looked up (record ids, identifier values such as
 * `UIN:1000123`): a salted hash to count distinct keys, and for keys ending in a number, the hash
 * of the part before it and the number's last six digits, to see steps of a walk. The salt is
 * random per process and never stored, so the hashes cannot be matched to identifiers later; none
 * of it leaves memory.
 */

/** Digits kept of a key's number: enough to see short steps, not enough to name the key. */
const KEPT = 1_000_000;
/** A trailing number shorter than this (e.g. a version suffix) does not make a walk. */
const MIN_DIGITS = 3;
const TRAILING_NUMBER = /^(.*?)(\d+)$/;

export interface NumberedKey {
  /** Hash of the key without its trailing number (UIN:, household:..., a number series). */
  series: string;
  /** The trailing number's last six digits. */
  low: number;
}

export class KeyHasher {
  readonly #salt = randomBytes(32);

  /** A short salted hash of a key (64 bits: collisions do not matter at these counts). */
  hash(key: string): string {
    return createHmac('sha256', this.#salt).update(key).digest('base64url').slice(0, 11);
  }

  /** The series and low digits of a key that ends in a number of at least three digits. */
  numbered(key: string): NumberedKey | undefined {
    const match = TRAILING_NUMBER.exec(key);
    if (!match || match[2]!.length < MIN_DIGITS) {
      return undefined;
    }
    const digits = match[2]!;
    return { series: this.hash(`#${match[1]!}`), low: Number(digits.slice(-6)) };
  }
}

/** Two numbers of one series a short step apart (not equal: a repeated lookup is no walk), modulo the kept digits. */
export function isStep(a: NumberedKey, b: NumberedKey, maxStep: number): boolean {
  if (a.series !== b.series) {
    return false;
  }
  const gap = Math.abs(a.low - b.low);
  const distance = Math.min(gap, KEPT - gap);
  return distance > 0 && distance <= maxStep;
}

/** The key of a typed identifier (REST identifier filter, DCI idtype-value): the same in every API. */
export const identifierKey = (type: string, value: string): string => `${type}:${value}`;

/** One key looked up (a record by its id, a person by an identifier), found or not. */
export const singleLookup = (key: string, found: boolean): Lookups => ({ keys: [key], found: found ? 1 : 0 });
