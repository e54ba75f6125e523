import { CompiledQuery, type Kysely } from 'kysely';
import PgBoss from 'pg-boss';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';

/**
 * pg-boss 10 set up for either engine. pg-boss keeps its tables in a schema of its own and only
 * schedules attempts (retries, backoff, expiry); the `jobs` table stays the truth users see.
 */

export interface BossOptions {
  database: Database;
  /** PostgreSQL: pg-boss gets its own small pool on this URL (required there). */
  url: string | undefined;
  schema: string;
  maintenanceSeconds: number;
  poolSize: number;
}

export interface Boss {
  readonly boss: PgBoss;
  /** After stop: the PGlite adapter answers nothing, as pg-boss's own pool does once closed. */
  detach(): void;
}

type SqlResult = { rows: any[] }; // eslint-disable-line @typescript-eslint/no-explicit-any -- pg-boss's own type

// pg-boss's `locked()` wraps maintenance and installation in an explicit BEGIN … COMMIT.
const EXPLICIT_TRANSACTION = /^\s*BEGIN;([\s\S]*)COMMIT;\s*$/;

/** Builds the pg-boss instance for the database's engine (not started). */
export function createBoss(options: BossOptions): Boss {
  const common = {
    schema: options.schema,
    // Cron schedules are not used: no timekeeper queue polling and clock-skew checks.
    schedule: false,
    // Maintenance fails attempts past their expiry (how a job whose worker died is retried on
    // PostgreSQL) and archives old pg-boss rows.
    supervise: true,
    maintenanceIntervalSeconds: options.maintenanceSeconds,
  };
  if (options.database.engine === 'postgres') {
    if (!options.url) {
      throw new Error('the job queue needs the database URL on PostgreSQL');
    }
    // Its own pool: queue polling never waits behind HTTP queries for a connection, and pg-boss
    // closes it on stop.
    const boss = new PgBoss({
      ...common,
      connectionString: options.url,
      max: options.poolSize,
      application_name: 'spx-jobs',
    });
    return { boss, detach: () => {} };
  }
  let attached = true;
  const executeSql = async (text: string, values?: unknown[]): Promise<SqlResult> => {
    if (!attached) {
      // pg-boss completes attempts without awaiting; after stop they must not reach a closed database.
      return undefined as unknown as SqlResult;
    }
    // PGlite is a single session: an explicit transaction that fails midway would leave it aborted
    // for every later query. The same text without BEGIN/COMMIT is one implicit transaction, which
    // PostgreSQL rolls back by itself ("Multiple Statements in a Simple Query").
    const body = values?.length ? undefined : EXPLICIT_TRANSACTION.exec(text)?.[1];
    return options.database.executeSql(body ?? text, values);
  };
  const boss = new PgBoss({ ...common, db: { executeSql } });
  return {
    boss,
    detach: () => {
      attached = false;
    },
  };
}

/** pg-boss statements run on a Kysely connection, e.g. inside the transaction that adds the row. */
export function viaKysely(db: Kysely<DB>): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const result = await db.executeQuery(CompiledQuery.raw(text, values ?? []));
      return { rows: [...result.rows] };
    },
  };
}

/**
 * PGlite only, at start: an attempt still marked active belonged to a gateway that died (a PGlite
 * data directory has one process), so it is failed now and retried at once instead of after its
 * expiry. On PostgreSQL other gateways may be running those attempts; maintenance expires them.
 */
export async function failOrphanedAttempts(
  boss: PgBoss,
  database: Database,
  schema: string,
): Promise<number> {
  if (database.engine !== 'pglite') {
    return 0;
  }
  const { rows } = await database.executeSql<{ name: string; ids: string[] }>(
    `select name, array_agg(id) as ids from ${schema}.job where state = 'active' group by name`,
  );
  let count = 0;
  for (const { name, ids } of rows) {
    for (const id of ids) {
      await boss.fail(name, id, { message: 'the gateway stopped while the job was running' });
      count += 1;
    }
  }
  return count;
}

/**
 * The unfinished job of `kind` sent with `singletonKey`, if any. pg-boss enforces keys only for
 * special queue policies, so the lookup is ours; the caller holds a transaction-level advisory lock
 * on the key so that two gateways cannot both miss and add.
 */
export async function findUnfinishedByKey(
  db: Kysely<DB>,
  schema: string,
  kind: string,
  singletonKey: string,
): Promise<string | undefined> {
  await db.executeQuery(
    CompiledQuery.raw('select pg_advisory_xact_lock(hashtext($1))', [`${kind}:${singletonKey}`]),
  );
  const { rows } = await db.executeQuery<{ id: string }>(
    CompiledQuery.raw(
      `select id from ${schema}.job where name = $1 and singleton_key = $2 and state < 'completed' limit 1`,
      [kind, singletonKey],
    ),
  );
  return rows[0]?.id;
}
