import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { addUsage, usageOn, type UsageCount } from './queries.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface RateDecision {
  allowed: boolean;
  /** Whole requests left right now. */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds until the next request is allowed (Retry-After), when refused. */
  retryAfterSeconds: number;
}

/**
 * The per-minute rate limit: one token bucket per client, in this process. A client may send up to
 * its limit at once; the bucket refills at limit per minute, so a sustained rate never exceeds the
 * limit while a short burst is not punished. With N gateways behind a load balancer the effective
 * limit is up to N times the setting (docs/security/policy.md).
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number) {}

  take(clientId: string, perMinute: number): RateDecision {
    const now = this.now();
    const bucket = this.#buckets.get(clientId) ?? { tokens: perMinute, at: now };
    const refill = ((now - bucket.at) * perMinute) / MINUTE_MS;
    bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, refill));
    bucket.at = now;
    this.#buckets.set(clientId, bucket);
    const allowed = bucket.tokens >= 1;
    if (allowed) {
      bucket.tokens -= 1;
    }
    const secondsFor = (tokens: number) => Math.ceil((tokens * MINUTE_MS) / perMinute / 1000);
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: secondsFor(perMinute - bucket.tokens),
      retryAfterSeconds: allowed ? 0 : Math.max(1, secondsFor(1 - bucket.tokens)),
    };
  }
}

/** The UTC day of a time, 'YYYY-MM-DD': quotas are per UTC day. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Seconds from this time to the next UTC midnight, when a daily quota starts again. */
export const secondsToNextDay = (ms: number): number => Math.ceil((DAY_MS - (ms % DAY_MS)) / 1000);

const keyOf = (clientId: string, day: string) => `${clientId} ${day}`;

/**
 * Requests per client and UTC day, counted in memory and added to client_usage in one statement per
 * flush (no write per request). What a client used today is the total recorded by every gateway,
 * read once per client and day and refreshed by each flush, plus what this gateway counted since.
 */
export class UsageCounter {
  readonly #pending = new Map<string, UsageCount>();
  /** Totals recorded in the database, by client and day, as last read or written here. */
  readonly #recorded = new Map<string, number>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly now: () => number,
  ) {}

  count(clientId: string): void {
    const day = utcDay(this.now());
    const key = keyOf(clientId, day);
    const entry = this.#pending.get(key) ?? { clientId, day, requests: 0 };
    entry.requests += 1;
    this.#pending.set(key, entry);
  }

  /** Requests of the client today, over every gateway as far as this one knows. */
  async usedToday(clientId: string): Promise<number> {
    const day = utcDay(this.now());
    const key = keyOf(clientId, day);
    let recorded = this.#recorded.get(key);
    if (recorded === undefined) {
      recorded = await usageOn(this.db, clientId, day);
      this.#recorded.set(key, recorded);
    }
    return recorded + (this.#pending.get(key)?.requests ?? 0);
  }

  /** Adds the counts taken since the last flush; on failure they are kept for the next one. */
  async flush(): Promise<void> {
    const counts = [...this.#pending.values()];
    this.#pending.clear();
    let totals: UsageCount[];
    try {
      totals = await addUsage(this.db, counts);
    } catch (error) {
      counts.forEach((c) => this.#restore(c));
      throw error;
    }
    const today = utcDay(this.now());
    for (const [key] of this.#recorded) {
      if (!key.endsWith(today)) {
        this.#recorded.delete(key);
      }
    }
    totals
      .filter((t) => t.day === today)
      .forEach((t) => this.#recorded.set(keyOf(t.clientId, t.day), t.requests));
  }

  #restore(count: UsageCount): void {
    const key = keyOf(count.clientId, count.day);
    const entry = this.#pending.get(key) ?? { ...count, requests: 0 };
    entry.requests += count.requests;
    this.#pending.set(key, entry);
  }
}
