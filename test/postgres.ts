import pg from 'pg';

/**
 * The PostgreSQL server a run covers (DATABASE_URL) is shared between runs: a run migrates one template
 * database, and each test file works in a database copied from it (`create database … template`, a
 * tenth of a second where migrating takes seconds), which it drops at the end.
 */

/** The schema the template is migrated in; each file's copy has it too. */
export const TEMPLATE_SCHEMA = 'spx';

/** `url` with its database name replaced. */
export function databaseUrl(url: string, database: string): string {
  const target = new URL(url);
  target.pathname = `/${database}`;
  return target.toString();
}

/** Runs `text` on the server through the database `url` names (never one of the copies). */
export async function onServer(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Drops a database of this run, closing what is still connected to it (a process that was killed). */
export const dropDatabase = (url: string, database: string): Promise<void> =>
  onServer(url, `drop database if exists ${database} with (force)`);
