import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '#test/db';
import { openDatabase } from './database.ts';

describe('database', () => {
  it('ends its connections on close, also when only executeSql ran (as in spx migrate)', async () => {
    const url = testDatabaseUrl();
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const database = await openDatabase({ url, schema, poolSize: 2 });
    const { rows } = await database.executeSql<{ pid: number }>('select pg_backend_pid() as pid');
    await database.executeSql(`drop schema ${schema}`);
    await database.close();
    if (!url) {
      return; // PGlite: no server connection to look for
    }
    // Before the fix the pool kept this connection until its idle timeout (10 s), and a CLI command
    // ran on that long after its work was done.
    const observer = new pg.Client({ connectionString: url });
    await observer.connect();
    try {
      let open = 1;
      for (let attempt = 0; attempt < 50 && open > 0; attempt++) {
        await sleep(100);
        const { rows: found } = await observer.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where pid = $1',
          [rows[0]!.pid],
        );
        open = found[0]!.n;
      }
      expect(open).toBe(0);
    } finally {
      await observer.end();
    }
  });
});
