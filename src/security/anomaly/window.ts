/**
 * Counters over the last N minutes: one bucket per minute in a ring, so adding is O(1) and a sum
 * reads N buckets. A bucket left from an older turn of the ring is treated as empty.
 */
export class SlidingCounts<F extends string> {
  readonly #minutes: number[];
  readonly #counts: Record<F, number>[];

  constructor(
    readonly size: number,
    private readonly fields: readonly F[],
  ) {
    this.#minutes = Array.from({ length: size }, () => -Infinity);
    this.#counts = Array.from({ length: size }, () => this.#zero());
  }

  add(minute: number, counts: Partial<Record<F, number>>): void {
    const slot = minute % this.size;
    if (this.#minutes[slot] !== minute) {
      this.#minutes[slot] = minute;
      this.#counts[slot] = this.#zero();
    }
    const bucket = this.#counts[slot]!;
    for (const field of this.fields) {
      bucket[field] += counts[field] ?? 0;
    }
  }

  /** Sums over the buckets of the `size` minutes ending with `minute`. */
  sum(minute: number): Record<F, number> {
    const total = this.#zero();
    this.#minutes.forEach((at, slot) => {
      if (at > minute - this.size && at <= minute) {
        for (const field of this.fields) {
          total[field] += this.#counts[slot]![field];
        }
      }
    });
    return total;
  }

  clear(): void {
    this.#minutes.fill(-Infinity);
  }

  #zero(): Record<F, number> {
    return Object.fromEntries(this.fields.map((field) => [field, 0])) as Record<F, number>;
  }
}

export const minuteOf = (ms: number): number => Math.floor(ms / 60_000);
