import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '#test/db';
import { listMigrations, migrate } from './migrate.ts';

describe('migrations', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase();
  });
  afterAll(() => test.drop());

  it('are all applied, in order, and applying again changes nothing', async () => {
    const rows = await test.database.db
      .selectFrom('schema_migrations')
      .select('version')
      .orderBy('version')
      .execute();
    expect(rows.map((r) => r.version)).toEqual(listMigrations().map((m) => m.version));
    expect(await migrate(test.database)).toEqual([]);
  });

  it('create the registry tables with their change sequence', async () => {
    const { rows } = await test.database.executeSql<{ n: number }>(`select nextval('change_seq') as n`);
    expect(rows[0]!.n).toBeGreaterThan(0);
  });

  it('keep the audit log append-only', async () => {
    await expect(test.database.executeSql('delete from audit_log')).rejects.toThrow(/append-only/);
  });
});
