import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { openDatabase, type Database } from '#platform/db/database';
import { migrate } from '#platform/db/migrate';

export interface TestDatabase {
  database: Database;
  /** The settings that reach the same database, for a second gateway (restart tests). */
  url: string | undefined;
  schema: string;
  /** Closes the database and, on PostgreSQL, drops this file's schemas. */
  drop(): Promise<void>;
}

/** A PostgreSQL URL when the run covers a server (DATABASE_URL set), else undefined (PGlite). */
export const testDatabaseUrl = (): string | undefined => process.env['DATABASE_URL'] || undefined;

/**
 * A fresh, migrated database for one test file: an in-memory PGlite started from the run's template,
 * or, when DATABASE_URL is set, a new schema of its own on the server (dropped afterwards), so that
 * files run in parallel and nothing depends on what an earlier run left behind.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = testDatabaseUrl();
  const schema = url ? `t_${randomBytes(6).toString('hex')}` : 'public';
  const database = await openDatabase({
    url,
    schema,
    poolSize: 4,
    pgliteTemplate: url ? undefined : new Blob([readFileSync(inject('pgliteTemplate'))]),
  });
  await migrate(database);
  return {
    database,
    url,
    schema,
    drop: async () => {
      if (url) {
        await database.executeSql(
          `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
        );
      }
      await database.close();
    },
  };
}
