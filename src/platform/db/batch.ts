/**
 * Writes that concurrent requests would each make on their own, made together: items submitted while
 * a write is in flight wait and go in the next one, so N concurrent requests cost one statement and
 * one commit instead of N. `submit` resolves with the item's own result once its batch is written,
 * so a caller never goes on before its row is durable.
 */
interface Waiting<I, O> {
  item: I;
  done: (error: unknown, result?: O) => void;
}

export class Batcher<I, O> {
  #pending: Waiting<I, O>[] = [];
  #draining = false;

  /**
   * @param write writes a batch and answers one result per item, in order.
   * @param writeOne when a batch fails, each item is written alone with it, so that one bad item
   *   fails only its own request (by default the batch's error fails them all).
   */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch?: number; writeOne?: (item: I) => Promise<O> } = {},
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, done: (error, result) => (error ? reject(error) : resolve(result as O)) });
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.options.maxBatch ?? 500);
      try {
        const results = await this.write(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.done(undefined, results[i]));
      } catch (error) {
        await this.#fallBack(batch, error);
      }
    }
    this.#draining = false;
  }

  async #fallBack(batch: Waiting<I, O>[], error: unknown): Promise<void> {
    const { writeOne } = this.options;
    if (!writeOne || batch.length === 1) {
      batch.forEach((entry) => entry.done(error ?? new Error('batched write failed')));
      return;
    }
    for (const entry of batch) {
      try {
        entry.done(undefined, await writeOne(entry.item));
      } catch (own) {
        entry.done(own ?? new Error('write failed'));
      }
    }
  }
}
