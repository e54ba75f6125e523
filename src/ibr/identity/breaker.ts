/**
 * A circuit breaker: after `threshold` failures in a row the circuit opens and calls fail at once
 * for `openMs`; then one call is let through (half-open): success closes the circuit, failure opens
 * it again. So a slow or down ID system never holds the registry's requests.
 */
export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
}

export class CircuitBreaker {
  #failures = 0;
  #openUntil = 0;
  #trial = false;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#failures < this.threshold) {
      return 'closed';
    }
    return this.now() < this.#openUntil ? 'open' : 'half-open';
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.#trial)) {
      throw new CircuitOpenError('the ID system failed repeatedly; it is not called for a while');
    }
    this.#trial = state === 'half-open';
    try {
      const result = await call();
      this.#failures = 0;
      return result;
    } catch (error) {
      this.#failures += 1;
      if (this.#failures >= this.threshold) {
        this.#openUntil = this.now() + this.openMs;
      }
      throw error;
    } finally {
      this.#trial = false;
    }
  }
}
