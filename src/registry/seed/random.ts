/**
 * A seeded pseudo-random generator for the synthetic population. Math.random cannot be seeded, and the
 * generator's promise is that one seed always yields byte-identical data, ids included.
 */

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

const hex8 = (word: number) =>
  HEX[word >>> 24]! + HEX[(word >>> 16) & 255]! + HEX[(word >>> 8) & 255]! + HEX[word & 255]!;
const hex4 = (half: number) => HEX[(half >>> 8) & 255]! + HEX[half & 255]!;

/** splitmix32 finaliser: spreads a seed over 32 bits so that seeds 1 and 2 start unrelated streams. */
function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand): 128 bits of state, passes
 * PractRand and BigCrush, and needs only 32-bit integer operations, which V8 runs fast.
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  /** `stream` gives independent sequences for one seed (geography, households, ...). */
  constructor(seed: number, stream = 0) {
    this.#a = mix32(seed);
    this.#b = mix32(this.#a ^ mix32(stream + 0x51ed));
    this.#c = mix32(this.#b ^ seed);
    // The first outputs of sfc32 still show the seed's structure: discard them.
    for (let i = 0; i < 15; i++) {
      this.next();
    }
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) + t;
    this.#c |= 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** A normally distributed value (Box-Muller; the second value is dropped to keep no hidden state). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.float();
    const v = this.float();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A string of `length` random decimal digits. */
  digits(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) {
      out += String(this.next() % 10);
    }
    return out;
  }

  /** A UUID shaped as version 4 (RFC 9562 section 5.4), its 122 free bits drawn from this generator. */
  uuid(): string {
    const a = this.next();
    const b = this.next();
    const c = this.next();
    const d = this.next();
    return (
      hex8(a) +
      '-' +
      hex4(b >>> 16) +
      '-' +
      hex4(0x4000 | (b & 0x0fff)) +
      '-' +
      hex4(0x8000 | ((c >>> 16) & 0x3fff)) +
      '-' +
      hex4(c & 0xffff) +
      hex8(d)
    );
  }
}

/** Values with weights, prepared once so that each draw is a binary search over cumulative weights. */
export class Weighted<T> {
  readonly #values: T[];
  readonly #cumulative: number[];

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    let total = 0;
    this.#values = entries.map(([value]) => value);
    this.#cumulative = entries.map(([, weight]) => (total += weight));
    if (!(total > 0)) {
      throw new Error('weighted choice needs a positive total weight');
    }
  }

  /** A table from { value: weight }, for string values (object key order is insertion order). */
  static of<K extends string>(weights: Record<K, number>): Weighted<K> {
    return new Weighted(Object.entries(weights) as Array<[K, number]>);
  }

  /** Draws one value; a value's chance is its weight over the total. */
  draw(rng: Rng): T {
    const target = rng.float() * this.#cumulative.at(-1)!;
    let low = 0;
    let high = this.#cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#cumulative[middle]! > target) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    return this.#values[low]!;
  }
}

/** Clamps value into [min, max]. */
export const clamp = (value: number, min: number, max: number): number =>
  value < min ? min : value > max ? max : value;
