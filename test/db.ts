import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { openDatabase, type Database } from '#platform/db/database';
import { databaseUrl, dropDatabase, onServer, TEMPLATE_SCHEMA } from './postgres.ts';

export interface TestDatabase {
  database: Database;
  /** The settings that reach the same database, for a second gateway (restart tests). */
  url: string | undefined;
  schema: string;
  /** Closes the database and, on PostgreSQL, drops it. */
  drop(): Promise<void>;
}

/** A PostgreSQL URL when the run covers a server (DATABASE_URL set), else undefined (PGlite). */
export const testDatabaseUrl = (): string | undefined => process.env['DATABASE_URL'] || undefined;

/**
 * A fresh, migrated database for one test file, copied from the run's template (test/global-setup.ts)
 * rather than migrated again: an in-memory PGlite loaded from the dumped data directory, or, when
 * DATABASE_URL is set, a database of its own on the server (dropped afterwards), so that files run in
 * parallel and nothing depends on what an earlier run left behind.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = testDatabaseUrl();
  if (!server) {
    const database = await openDatabase({
      schema: 'public',
      poolSize: 4,
      pgliteTemplate: new Blob([readFileSync(inject('pgliteTemplate'))]),
    });
    return { database, url: undefined, schema: 'public', drop: () => database.close() };
  }
  const name = `t_${randomBytes(6).toString('hex')}`;
  await onServer(server, `create database ${name} template ${inject('postgresTemplate')}`);
  const url = databaseUrl(server, name);
  const database = await openDatabase({ url, schema: TEMPLATE_SCHEMA, poolSize: 4 });
  return {
    database,
    url,
    schema: TEMPLATE_SCHEMA,
    drop: async () => {
      await database.close();
      await dropDatabase(server, name);
    },
  };
}
