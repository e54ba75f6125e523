import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { fieldNames } from '#exports/fields';
import { createExportTestApp, type ExportTestApp } from './support.ts';

/**
 * Each format round-trips: what we produce, read back by an independent parser, equals the
 * database read by its own query. XML validates against the published XSD; Parquet is read by
 * hyparquet (another library than the writer).
 */

type Row = Record<string, unknown>;

const HOUSEHOLD_FIELDS = fieldNames('households');
const PERSON_FIELDS = fieldNames('individuals');

let t: ExportTestApp;

/** The households as the database holds them, in id order, as JSON values. */
async function householdsInDb(): Promise<Row[]> {
  const rows = await t.database.db
    .selectFrom('households as h')
    .selectAll('h')
    .select(
      sql<number>`(select count(*)::int from individuals m where m.household_id = h.id)`.as('member_count'),
    )
    .orderBy('h.id')
    .execute();
  return rows.map(({ change_seq: _seq, ...h }) => ({
    ...h,
    registered_at: h.registered_at.toISOString(),
    updated_at: h.updated_at.toISOString(),
  }));
}

async function peopleInDb(): Promise<Row[]> {
  const rows = await t.database.db.selectFrom('individuals as i').selectAll('i').orderBy('i.id').execute();
  const ids = await t.database.db
    .selectFrom('identifiers')
    .select(['individual_id', 'id_type', 'id_value'])
    .orderBy('id_type')
    .orderBy('id_value')
    .execute();
  return rows.map(({ change_seq: _seq, ...i }) => ({
    ...i,
    birth_year: i.birth_date ? Number(i.birth_date.slice(0, 4)) : null,
    identifiers: ids
      .filter((x) => x.individual_id === i.id)
      .map((x) => ({ type: x.id_type, value: x.id_value })),
    registered_at: i.registered_at.toISOString(),
    updated_at: i.updated_at.toISOString(),
  }));
}

const pick = (row: Row, fields: readonly string[]) =>
  Object.fromEntries(fields.map((f) => [f, row[f] ?? null]));

/** A value as a CSV cell holds it. */
function asCell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (Array.isArray(value)) {
    return value
      .map((v: unknown) => (typeof v === 'string' ? v : `${(v as Row)['type']}:${(v as Row)['value']}`))
      .join(';');
  }
  return String(value);
}

beforeAll(async () => {
  t = await createExportTestApp(60);
  await t.define({ name: 'households-all', entity: 'households', fields: HOUSEHOLD_FIELDS, format: 'csv' });
  await t.define({ name: 'people-all', entity: 'individuals', fields: PERSON_FIELDS, format: 'csv' });
  await t.define({
    name: 'households-nested',
    entity: 'households',
    fields: ['id', 'household_number', 'admin_area_code', 'member_count'],
    include_members: true,
    format: 'json',
  });
  await t.define({
    name: 'flat',
    entity: 'household_members',
    fields: [
      'id',
      'household_id',
      'given_name',
      'household_number',
      'household_admin_area_code',
      'household_pmt_score',
    ],
    format: 'csv',
  });
});
afterAll(() => t.close());

describe('CSV', () => {
  it('has a header row and one RFC 4180 row per household, equal to the database', async () => {
    const res = await t.download('households-all');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="households-all-v1.csv"');
    expect(res.body).toContain('\r\n');
    const [header, ...rows] = parseCsv(res.body, { relax_column_count: false });
    expect(header).toEqual(HOUSEHOLD_FIELDS);
    const expected = (await householdsInDb()).map((h) => HOUSEHOLD_FIELDS.map((f) => asCell(h[f])));
    expect(rows).toEqual(expected);
    expect(rows).toHaveLength(60);
  });

  it('writes persons with their identifiers as TYPE:value lists', async () => {
    const res = await t.download('people-all');
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual(PERSON_FIELDS);
    const people = await peopleInDb();
    expect(rows).toEqual(people.map((p) => PERSON_FIELDS.map((f) => asCell(p[f]))));
    expect(rows.some((row) => row[PERSON_FIELDS.indexOf('identifiers')]!.startsWith('UIN:'))).toBe(true);
  });

  it('flattens households and members into one row per member with the household fields', async () => {
    const res = await t.download('flat');
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual([
      'id',
      'household_id',
      'given_name',
      'household_number',
      'household_admin_area_code',
      'household_pmt_score',
    ]);
    const households = new Map((await householdsInDb()).map((h) => [h['id'], h]));
    const people = await peopleInDb();
    expect(rows).toHaveLength(people.length);
    for (const row of rows) {
      const household = households.get(row[1])!;
      expect(row[3]).toBe(household['household_number']);
      expect(row[4]).toBe(household['admin_area_code']);
      expect(row[5]).toBe(asCell(household['pmt_score']));
      expect(people.find((p) => p['id'] === row[0])?.['given_name']).toBe(row[2]);
    }
    // Grouped by household, in household order.
    const order = rows.map((row) => row[1]);
    expect(order).toEqual([...order].sort());
  });
});

describe('CSV quoting and previews', () => {
  it('quotes cells holding commas, quotes and line breaks, and reads back the value', async () => {
    const [person] = await t.database.db
      .selectFrom('individuals')
      .select('id')
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    const tricky = 'Amina, "Mama"\nJuma \\ jr';
    await t.database.db
      .updateTable('individuals')
      .set({ given_name: tricky })
      .where('id', '=', person!.id)
      .execute();
    const res = await t.download('people-all');
    const rows = parseCsv(res.body);
    const row = rows.find((r) => r[0] === person!.id)!;
    // A line break inside a value may come back as CRLF (RFC 4180's line break).
    expect(row[PERSON_FIELDS.indexOf('given_name')]!.replace(/\r\n/g, '\n')).toBe(tricky);
    expect(rows).toHaveLength((await peopleInDb()).length + 1);
  });

  it('takes hostile filter values as values, on the path that writes them into COPY', async () => {
    const [household] = await t.database.db
      .selectFrom('households')
      .select(['id', 'household_number'])
      .limit(1)
      .execute();
    const hostile = "HH'); drop table households; --\\' \\";
    await t.database.db
      .updateTable('households')
      .set({ household_number: hostile })
      .where('id', '=', household!.id)
      .execute();
    await t.define({
      name: 'by-number',
      entity: 'households',
      fields: ['id', 'household_number'],
      filter: { household_number: hostile },
      format: 'csv',
    });
    const res = await t.download('by-number');
    expect(res.statusCode, res.body).toBe(200);
    expect(parseCsv(res.body).slice(1)).toEqual([[household!.id, hostile]]);
    await t.database.db
      .updateTable('households')
      .set({ household_number: household!.household_number })
      .where('id', '=', household!.id)
      .execute();
    expect(await t.database.db.selectFrom('households').select('id').limit(1).execute()).toHaveLength(1);
  });

  it('stops a preview after the number of records asked for', async () => {
    for (const format of ['csv', 'ndjson']) {
      const res = await t.download('people-all', { limit: '5', format });
      const lines = res.body.trimEnd().split('\r\n').join('\n').split('\n');
      expect(lines, format).toHaveLength(format === 'csv' ? 6 : 5);
    }
  });
});

describe('JSON and NDJSON', () => {
  it('JSON holds every household with typed values', async () => {
    const res = await t.download('households-all', { format: 'json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="households-all-v1.json"');
    const body = res.json<{ definition: string; version: number; entity: string; records: Row[] }>();
    expect(body).toMatchObject({ definition: 'households-all', version: 1, entity: 'households' });
    expect(body.records).toEqual((await householdsInDb()).map((h) => pick(h, HOUSEHOLD_FIELDS)));
  });

  it('NDJSON is one record per line', async () => {
    const res = await t.download('people-all', { format: 'ndjson' });
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Row);
    expect(lines).toEqual((await peopleInDb()).map((p) => pick(p, PERSON_FIELDS)));
  });

  it("nests each household's members, head first", async () => {
    const res = await t.download('households-nested');
    const { records } = res.json<{ records: (Row & { members: Row[] })[] }>();
    const people = await peopleInDb();
    expect(records).toHaveLength(60);
    for (const household of records) {
      expect(household.members).toHaveLength(household['member_count'] as number);
      expect(household.members[0]!['relationship_to_head']).toBe('SELF');
      for (const member of household.members) {
        expect(member).toEqual(
          pick(
            people.find((p) => p['id'] === member['id'])!,
            PERSON_FIELDS,
          ),
        );
      }
    }
  });
});

describe('XML', () => {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    isArray: (name) => ['household', 'individual', 'member', 'code', 'identifier'].includes(name),
  });

  async function validate(xml: string) {
    const xsd = await t.get('/api/v1/exports/schema.xsd');
    expect(xsd.statusCode).toBe(200);
    expect(xsd.headers['content-type']).toMatch(/^application\/xml/);
    return validateXML({ xml: [{ fileName: 'export.xml', contents: xml }], schema: [xsd.body] });
  }

  it('validates against the published XSD and holds the database values', async () => {
    const res = await t.download('households-all', { format: 'xml' });
    expect(res.statusCode).toBe(200);
    const result = await validate(res.body);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    const doc = parser.parse(res.body) as {
      export: { household: Row[]; '@definition': string; '@entity': string };
    };
    expect(doc.export['@definition']).toBe('households-all');
    expect(doc.export['@entity']).toBe('households');
    const expected = await householdsInDb();
    expect(doc.export.household).toHaveLength(expected.length);
    doc.export.household.forEach((element, i) => {
      const row = expected[i]!;
      for (const field of HOUSEHOLD_FIELDS) {
        const value = row[field];
        if (value === null) {
          expect(element[field], field).toBeUndefined();
        } else if (field === 'assets') {
          const codes = (element['assets'] as { code?: string[] } | '') || {};
          expect(codes.code ?? []).toEqual(value);
        } else {
          expect(element[field], field).toBe(String(value));
        }
      }
    });
  });

  it('validates persons with identifiers and nested members too', async () => {
    const people = await t.download('people-all', { format: 'xml' });
    expect((await validate(people.body)).errors).toEqual([]);
    const doc = parser.parse(people.body) as {
      export: { individual: { identifiers?: { identifier: Row[] } }[] };
    };
    const withIds = doc.export.individual.find((p) => p.identifiers);
    expect(withIds!.identifiers!.identifier[0]).toHaveProperty('@type');
    const nested = await t.download('households-nested', { format: 'xml' });
    expect((await validate(nested.body)).errors).toEqual([]);
    const flat = await t.download('flat', { format: 'xml' });
    expect((await validate(flat.body)).errors).toEqual([]);
  });

  it('escapes markup in values and still validates', async () => {
    const [person] = await t.database.db.selectFrom('individuals').select('id').limit(1).execute();
    await t.database.db
      .updateTable('individuals')
      .set({ given_name: 'A & <B> "C" \u0001' })
      .where('id', '=', person!.id)
      .execute();
    const res = await t.download('people-all', { format: 'xml' });
    expect((await validate(res.body)).errors).toEqual([]);
    const doc = parser.parse(res.body) as { export: { individual: Row[] } };
    const element = doc.export.individual.find((p) => p['id'] === person!.id)!;
    // The parser decodes the escapes; the control character, which XML cannot hold, is dropped.
    expect(element['given_name']).toBe('A & <B> "C"');
  });

  it('refuses an XML document that breaks the schema (the check is real)', async () => {
    const res = await t.download('households-all', { format: 'xml', limit: '2' });
    const broken = res.body.replace('<member_count>', '<member_count>many');
    expect((await validate(broken)).valid).toBe(false);
  });
});

describe('Parquet', () => {
  it('is read back by an independent reader with the database values', async () => {
    const res = await t.download('households-all', { format: 'parquet' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.apache.parquet');
    const file = Uint8Array.from(res.rawPayload).buffer;
    const metadata = parquetMetadata(file);
    expect(Number(metadata.num_rows)).toBe(60);
    expect(metadata.key_value_metadata).toContainEqual({ key: 'spx.definition', value: 'households-all' });
    const rows = (await parquetReadObjects({ file })) as Row[];
    const expected = await householdsInDb();
    rows.forEach((row, i) => {
      const db = expected[i]!;
      for (const field of HOUSEHOLD_FIELDS) {
        const value = row[field];
        if (field === 'registered_at' || field === 'updated_at') {
          expect((value as Date).toISOString(), field).toBe(db[field]);
        } else if (field === 'assets') {
          expect(typeof value === 'string' ? JSON.parse(value) : value).toEqual(db[field]);
        } else {
          expect(value ?? null, field).toEqual(db[field] ?? null);
        }
      }
    });
  });
});
