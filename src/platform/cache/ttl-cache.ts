/**
 * A small in-process cache whose entries expire after a fixed time. Used for what is read on every
 * request and changes rarely (authenticated keys, client policies): a change made through this
 * gateway removes the entry at once (see ClientChanges); a change made elsewhere (the CLI, another
 * gateway) is seen once the entry expires. A TTL of 0 turns the cache off.
 */
export class TtlCache<K, V> {
  readonly #entries = new Map<K, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) {
      return undefined;
    }
    if (entry.until <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    if (this.ttlMs <= 0) {
      return;
    }
    if (this.#entries.size >= this.maxEntries) {
      // Crude but bounded: a full cache starts over rather than tracking recency.
      this.#entries.clear();
    }
    this.#entries.set(key, { value, until: this.now() + this.ttlMs });
  }

  /** The cached value, or the loaded one (cached when `keep` says so, by default always). */
  async through(key: K, load: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) {
      return cached;
    }
    const value = await load();
    if (keep(value)) {
      this.set(key, value);
    }
    return value;
  }

  deleteWhere(matches: (key: K, value: V) => boolean): void {
    for (const [key, entry] of this.#entries) {
      if (matches(key, entry.value)) {
        this.#entries.delete(key);
      }
    }
  }
}
