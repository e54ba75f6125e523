import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** The numbered, forward-only SQL migrations shipped with this build, in order. */
export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => FILE_NAME.test(file))
    .sort()
    .map((file) => {
      const [, version, name] = FILE_NAME.exec(file)!;
      const sql = readFileSync(MIGRATIONS_DIR + file, 'utf8');
      return {
        version: Number(version),
        name: name!,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/**
 * Applies every migration not yet applied, each in its own transaction, and returns the versions it
 * applied. A changed file that was already applied stops the start: migrations are never edited.
 */
export async function migrate(database: Database): Promise<number[]> {
  await database.executeSql(`create table if not exists schema_migrations (
    version integer primary key, name text not null, checksum text not null,
    applied_at timestamptz not null default now())`);
  const applied: number[] = [];
  for (const migration of listMigrations()) {
    const done = await applyOne(database, migration);
    if (done) {
      applied.push(migration.version);
    }
  }
  return applied;
}

async function applyOne(database: Database, migration: Migration): Promise<boolean> {
  const { rows } = await database.executeSql<{ checksum: string }>(
    'select checksum from schema_migrations where version = $1',
    [migration.version],
  );
  if (rows[0]) {
    if (rows[0].checksum !== migration.checksum) {
      throw new Error(`migration ${migration.version}_${migration.name} was changed after it was applied`);
    }
    return false;
  }
  const record = `insert into schema_migrations (version, name, checksum)
    values (${migration.version}, '${migration.name}', '${migration.checksum}')`;
  // The lock (one per schema) keeps two gateways from migrating the same schema at once.
  // One multi-statement text runs as one implicit transaction on both engines (PostgreSQL docs,
  // "Multiple Statements in a Simple Query"): a failing migration leaves nothing behind.
  try {
    await database.executeSql(
      `select pg_advisory_xact_lock(hashtext(current_schema()));
       do $guard$ begin
         if exists (select 1 from schema_migrations where version = ${migration.version}) then
           raise exception 'spx-migration-already-applied';
         end if;
       end $guard$;
       ${migration.sql};
       ${record};`,
    );
  } catch (error) {
    if (error instanceof Error && error.message.includes('spx-migration-already-applied')) {
      return false; // another gateway applied it while this one waited for the lock
    }
    throw error;
  }
  return true;
}
