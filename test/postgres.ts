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

/**
 * Drops a database of this run. A pool that was just ended may still be closing its connections (pg's
 * pool resolves `end()` before its sockets close), and a connection ended by force in that moment
 * reports the termination as an unhandled error: so first wait (a few seconds at most) for the
 * connections to go, then force only what is left, such as the connections of a killed process.
 */
export async function dropDatabase(url: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let waited = 0; waited < 5000 && (await connectionsTo(client, database)) > 0; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.query(`drop database if exists ${database} with (force)`);
  } finally {
    await client.end();
  }
}

async function connectionsTo(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ count: number }>(
    'select count(*)::int as count from pg_stat_activity where datname = $1',
    [database],
  );
  return rows[0]?.count ?? 0;
}
