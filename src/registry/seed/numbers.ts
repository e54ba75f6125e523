/**
 * Identity and account numbers of the synthetic population: national IDs that are unique and carry a
 * check digit (so fraud checks can tell a mistyped ID from another person's), phone numbers and IBANs.
 */
import type { Rng } from './random.ts';

/** (a * b) mod m without leaving the 2^53 range doubles hold exactly (a, m < 2^31; b < 2^46). */
function mulmod(a: number, b: number, m: number): number {
  const high = Math.floor(b / 32768);
  const low = b % 32768;
  return (((a * high) % m) * 32768 + a * low) % m;
}

/** The Luhn check digit (ISO/IEC 7812-1 annex B) of a string of digits. */
export function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

const BODY_SPACE = 900_000_000;
// Multiplying by a number coprime to the space (2^8 * 3^2 * 5^8) permutes it: sequential counters map to
// distinct, scattered-looking values, with no lookup table to keep for a million people.
const SCATTER = 282_475_249; // 7^10

/** Hands out national IDs, birth registration and voter numbers: unique within a run, seeded offsets. */
export class NumberSource {
  #uin = 0;
  #brn = 0;
  #voter = 0;
  readonly #offset: number;

  constructor(rng: Rng) {
    this.#offset = rng.int(0, BODY_SPACE - 1);
  }

  /** A 10-digit national ID (UIN): 9 scattered digits not starting with 0, then a Luhn check digit. */
  uin(): string {
    const body = String(100_000_000 + mulmod(SCATTER, (this.#uin++ + this.#offset) % BODY_SPACE, BODY_SPACE));
    return body + luhnDigit(body);
  }

  /** A birth registration number: year of birth and a running number, as civil registries print them. */
  brn(birthYear: number): string {
    return `${birthYear}/${String(++this.#brn).padStart(7, '0')}`;
  }

  /** A voter card number. */
  voterId(): string {
    const body = mulmod(SCATTER, (this.#voter++ + this.#offset) % BODY_SPACE, BODY_SPACE);
    return `VTR-${String(body).padStart(9, '0')}`;
  }
}

/** A mobile number in E.164 form, as Tanzanian operators issue them (+255 7XX XXX XXX). */
export const mobileNumber = (rng: Rng): string => `+2557${rng.int(10_000_000, 99_999_999)}`;

/** The remainder modulo 97 of a long decimal string, in chunks small enough for doubles. */
function mod97(digits: string): number {
  let rest = 0;
  for (let i = 0; i < digits.length; i += 7) {
    rest = Number(String(rest) + digits.slice(i, i + 7)) % 97;
  }
  return rest;
}

const BANKS = ['CRDB', 'NMBT', 'NBCT', 'EQBL', 'STAN', 'AZAN'];

/** An IBAN-shaped account number with valid check digits (ISO 13616: mod 97-10 over the rearranged IBAN). */
export function bankAccount(rng: Rng): string {
  const bban = rng.pick(BANKS) + rng.digits(14);
  const numeric = (bban + 'TZ00').replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  const check = 98 - mod97(numeric);
  return `TZ${String(check).padStart(2, '0')}${bban}`;
}
