import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '#test/db';
import { seedRegistry } from './load.ts';

const TABLES = [
  'admin_areas',
  'programs',
  'households',
  'individuals',
  'identifiers',
  'consents',
  'enrollments',
  'enrollment_status_history',
  'seed_planted_duplicates',
];

/**
 * One digest per table of every row as JSON, in a stable order. Left out: change_seq and change_xid,
 * positions the whole database shares (a sequence, the writing transaction), and seed_runs, which
 * holds the time the load took.
 */
async function tableDigests(test: TestDatabase): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of TABLES) {
    const { rows } = await test.database.executeSql<{ rows: number; digest: string }>(`
      select count(*)::int as rows, md5(coalesce(string_agg(j, E'\\n' order by j), '')) as digest
      from (select (to_jsonb(t) - 'change_seq' - 'change_xid')::text as j from ${table} t) as dump`);
    digests[table] = `${rows[0]!.rows}:${rows[0]!.digest}`;
  }
  return digests;
}

describe('the same seed loaded into two databases', () => {
  let first: TestDatabase;
  let second: TestDatabase;
  beforeAll(async () => {
    [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    await seedRegistry(first.database, { households: 250, seed: 99, duplicateShare: 0.05 });
    await seedRegistry(second.database, { households: 250, seed: 99, duplicateShare: 0.05, batchSize: 60 });
  });
  afterAll(async () => {
    await Promise.all([first.drop(), second.drop()]);
  });

  it('gives identical tables, ids and dates included', async () => {
    const [a, b] = await Promise.all([tableDigests(first), tableDigests(second)]);
    expect(a).toEqual(b);
    expect(a['individuals']).not.toMatch(/^0:/);
  });
});
