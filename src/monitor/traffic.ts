import { EventEmitter } from 'node:events';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';

/**
 * What flows through the gateway, for the console's monitor: every authenticated request is counted
 * per minute, client and operation (its audit action), with its outcome, the records it returned and
 * its latency in a histogram; the counts are added to `traffic_minutes` every few seconds (so every
 * gateway's requests add up), and each request is also announced at once to the live listeners of
 * this gateway. Nothing here holds personal data: ids of clients and names of operations only.
 */

/** Upper bounds of the latency buckets, in ms; one more bucket holds the slower requests. */
export const TRAFFIC_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;
const BUCKETS = TRAFFIC_BOUNDS_MS.length + 1;
const RETENTION_DAYS = 8;

export interface RequestEvent {
  at: string;
  client_id: string;
  client_name: string;
  action: string;
  status: number;
  duration_ms: number;
  records: number;
}

interface Counts {
  minute: Date;
  client_id: string;
  action: string;
  requests: number;
  errors: number;
  rate_limited: number;
  records: number;
  latency_buckets: number[];
}

const bucketOf = (ms: number) => {
  const index = TRAFFIC_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return index === -1 ? BUCKETS - 1 : index;
};

export class TrafficRecorder {
  readonly live = new EventEmitter().setMaxListeners(100);
  #pending = new Map<string, Counts>();

  constructor(private readonly db: Kysely<DB>) {}

  record(event: RequestEvent): void {
    const minute = new Date(Math.floor(Date.parse(event.at) / 60_000) * 60_000);
    const key = `${minute.getTime()}|${event.client_id}|${event.action}`;
    let counts = this.#pending.get(key);
    if (!counts) {
      counts = {
        minute,
        client_id: event.client_id,
        action: event.action,
        requests: 0,
        errors: 0,
        rate_limited: 0,
        records: 0,
        latency_buckets: Array<number>(BUCKETS).fill(0),
      };
      this.#pending.set(key, counts);
    }
    counts.requests += 1;
    counts.errors += event.status >= 400 && event.status !== 429 ? 1 : 0;
    counts.rate_limited += event.status === 429 ? 1 : 0;
    counts.records += event.records;
    counts.latency_buckets[bucketOf(event.duration_ms)]! += 1;
    this.live.emit('request', event);
  }

  /** Adds the counts gathered since the last flush to the table. */
  async flush(): Promise<void> {
    const rows = [...this.#pending.values()];
    this.#pending = new Map();
    if (rows.length === 0) {
      return;
    }
    await this.db
      .insertInto('traffic_minutes')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['minute', 'client_id', 'action']).doUpdateSet({
          requests: sql`traffic_minutes.requests + excluded.requests`,
          errors: sql`traffic_minutes.errors + excluded.errors`,
          rate_limited: sql`traffic_minutes.rate_limited + excluded.rate_limited`,
          records: sql`traffic_minutes.records + excluded.records`,
          latency_buckets: sql`array(select u.a + u.b from unnest(traffic_minutes.latency_buckets, excluded.latency_buckets)
            with ordinality as u(a, b, n) order by u.n)`,
        }),
      )
      .execute();
  }

  /** Flushes every few seconds and drops what is older than the retention. */
  start(intervalMs: number, onError: (error: unknown) => void): Periodic {
    let purged = 0;
    return runPeriodically(
      intervalMs,
      async () => {
        await this.flush();
        if (Date.now() - purged > 3600_000) {
          purged = Date.now();
          await this.db
            .deleteFrom('traffic_minutes')
            .where('minute', '<', sql<Date>`now() - ${`${RETENTION_DAYS} days`}::interval`)
            .execute();
        }
      },
      onError,
    );
  }
}

/** The latency under which 95% of the requests answered (a bucket's upper bound; null above the last). */
export function p95Of(buckets: readonly number[]): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (total > 0 && seen >= 0.95 * total) {
      return TRAFFIC_BOUNDS_MS[i] ?? null;
    }
  }
  return null;
}

/** Counts every request an authenticated client makes, once answered. */
export function recordTraffic(app: App, traffic: TrafficRecorder): void {
  app.addHook('onResponse', async (request, reply) => {
    const access = request.routeOptions.config.access;
    const principal = request.principal;
    if (!principal || !access || 'public' in access) {
      return;
    }
    traffic.record({
      at: new Date().toISOString(),
      client_id: principal.clientId,
      client_name: principal.clientName,
      action: access.audit ? access.audit.action : (request.routeOptions.url ?? request.url),
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime),
      records: reply.statusCode < 400 ? (request.auditNote?.recordCount ?? 0) : 0,
    });
  });
}
