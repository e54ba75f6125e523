import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefinition } from '#exports/definitions';
import { createClient } from '#platform/auth/clients';
import { spxWorkspace } from '#test/spx';

/** `spx export`: an operator writes an export of a saved definition to a file. */
describe('spx export', { timeout: 90_000 }, () => {
  const workspace = spxWorkspace();
  const out = (name: string) => join(workspace.dir, name);
  const exportTo = (file: string, ...args: string[]) =>
    workspace.run([
      'export',
      '--out',
      out(file),
      '--purpose',
      'quarterly report',
      '--legal-basis',
      'public_task',
      ...args,
    ]);
  let people: number;

  beforeAll(async () => {
    expect((await workspace.run(['seed', '--households', '25'])).code).toBe(0);
    const database = await workspace.open();
    try {
      const fields = ['id', 'given_name', 'family_name', 'sex', 'birth_year'];
      await createDefinition(
        database.db,
        { name: 'people', entity: 'individuals', fields, format: 'csv' },
        undefined,
      );
      await createDefinition(
        database.db,
        { name: 'pseudo', entity: 'individuals', fields, format: 'ndjson', pseudonymise: true },
        undefined,
      );
      await createClient(database.db, { name: 'stats-office', role: 'analyst' });
      const count = await database.db
        .selectFrom('individuals')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      people = Number(count!.n);
    } finally {
      await database.close();
    }
  }, 90_000);
  afterAll(() => workspace.remove());

  it('writes the whole export with a progress bar and audits it', async () => {
    const res = await exportTo('people.csv', '--definition', 'people');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe(`wrote ${people} records to ${out('people.csv')}`);
    expect(res.stderr).toMatch(/export \[.*\] 100% \| \d+\/\d+ records/);
    const [header, ...rows] = parseCsv(readFileSync(out('people.csv'), 'utf8'));
    expect(header).toEqual(['id', 'given_name', 'family_name', 'sex', 'birth_year']);
    expect(rows).toHaveLength(people);
    const database = await workspace.open();
    try {
      const entry = await database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'export.cli')
        .executeTakeFirst();
      expect(entry).toMatchObject({
        record_count: people,
        purpose: 'quarterly report',
        legal_basis: 'public_task',
        resource_id: 'people@1',
      });
    } finally {
      await database.close();
    }
  });

  it("applies a recipient's field policy, and writes another format when asked", async () => {
    const res = await exportTo(
      'people.json',
      '--definition',
      'people',
      '--recipient',
      'stats-office',
      '--format',
      'json',
      '--no-progress',
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('(withheld: given_name, family_name)');
    expect(res.stderr).toBe('');
    const { records } = JSON.parse(readFileSync(out('people.json'), 'utf8')) as {
      records: Record<string, unknown>[];
    };
    expect(Object.keys(records[0]!)).toEqual(['id', 'sex', 'birth_year']);
  });

  it('refuses bad arguments with one clear line, writing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--definition', 'nothing'], /^spx: no export definition "nothing"\n$/],
      [['--definition', 'people', '--legal-basis', 'whim'], /^spx: --legal-basis is one of consent, /],
      [['--definition', 'people', '--format', 'xlsx'], /^spx: --format is one of csv, json/],
      [['--definition', 'people', '--version', 'two'], /^spx: --version is a whole number/],
      [['--definition', 'people', '--recipient', 'nobody'], /^spx: no enabled client "nobody"\n$/],
      [['--definition', 'pseudo'], /^spx: this definition pseudonymises identifiers: name the --recipient/],
    ];
    for (const [args, message] of cases) {
      const res = await exportTo('refused.csv', ...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(message);
    }
    expect(() => readFileSync(out('refused.csv'))).toThrow();
  });
});
