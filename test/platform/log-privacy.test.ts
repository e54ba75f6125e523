import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { testDatabaseUrl } from '#test/db';
import { insertArea } from '#test/factories';
import { householdInstance, submit } from '#test/odk/collect';

/**
 * No personal data in the logs (defects issue, item 14): a failing query is logged with its
 * statement, never with its values, on both engines. The database is broken on purpose so that the
 * queries fail: a check no submission passes, an identifier column and a household number of the
 * wrong type. A download that breaks off is logged as a warning: warnings are read too.
 */

let t: TestApp;
const lines: string[] = [];
const errorLines = () =>
  lines.map((line) => JSON.parse(line) as { level: number }).filter((line) => line.level >= 50);

beforeAll(async () => {
  t = await createTestApp({}, [], {
    logger: { level: 'warn', stream: { write: (line: string) => void lines.push(line) } },
  });
  await insertArea(t.database.db, 'R01');
  await t.database.executeSql(`alter table odk_submissions add constraint refuse_all check (false)`);
  await t.database.executeSql(`alter table identifiers alter column id_value type integer using 0`);
});
afterAll(() => t.close());

describe('logs of failing queries', () => {
  it('hold the statement of a failed ODK submission insert, not the submission', async () => {
    const { xml } = householdInstance({
      admin_area: 'R01',
      gps: '-6.7924 39.2083 12.0 4.5',
      members: [
        {
          given_name: 'Wanjiru',
          family_name: 'Secretname',
          sex: 'female',
          birth_date: '1971-03-09',
          relationship: 'SELF',
        },
      ],
    });
    lines.length = 0;
    expect((await submit(t, await t.keyFor('field_agent'), xml)).statusCode).toBe(500);
    const logged = errorLines();
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged)).toMatch(/insert into \\"odk_submissions\\"/);
    for (const value of ['Wanjiru', 'Secretname', '1971-03-09', '39.2083']) {
      expect(lines.join('\n')).not.toContain(value);
    }
  });

  // COPY TO takes no bind parameters: the CSV export's filter values are in the statement's text.
  it.skipIf(!testDatabaseUrl())(
    'hold the statement of a failed CSV export by COPY, not its filter (PostgreSQL: PGlite has no COPY TO)',
    async () => {
      await t.database.executeSql(
        `alter table households alter column household_number type integer using 0`,
      );
      const definition = {
        name: 'by-number',
        entity: 'households',
        fields: ['id', 'household_number'],
        filter: { household_number: 'HH-SECRET-77' },
        format: 'csv',
      };
      const headers = { authorization: `Bearer ${t.adminKey}` };
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/export-definitions',
        headers,
        payload: definition,
      });
      expect(created.statusCode, created.body).toBe(201);
      lines.length = 0;
      // The download fails once its headers are sent: the response breaks off.
      const download = '/api/v1/export-definitions/by-number/data?legal_basis=public_task&purpose=test';
      await expect(t.get(download, t.adminKey)).rejects.toThrow(/destroyed/);
      expect(lines.join('\n')).not.toContain('HH-SECRET-77');
      expect(lines.join('\n')).toMatch(/copy \(select .*household_number.* = \$1/);
    },
  );

  it('hold the statement of a failed identifier search, not the identifier', async () => {
    lines.length = 0;
    const res = await t.get(
      '/api/v1/individuals?identifier_type=UIN&identifier_value=NID-77-SECRET',
      t.adminKey,
    );
    expect(res.statusCode).toBe(500);
    const logged = errorLines();
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged)).toMatch(/id_value/);
    expect(lines.join('\n')).not.toContain('NID-77-SECRET');
  });
});
