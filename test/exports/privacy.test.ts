import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClient, type TestClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';
import { createExportTestApp, type ExportTestApp } from './support.ts';

/**
 * Every export honours its caller's field policy and area scope, states a purpose and a legal
 * basis (both in the audit trail), and can pseudonymise identifiers per recipient or drop direct
 * identifiers.
 */

type Row = Record<string, unknown>;
let t: ExportTestApp;

const PEOPLE = [
  'id',
  'household_id',
  'given_name',
  'family_name',
  'sex',
  'birth_date',
  'birth_year',
  'identifiers',
];
/** What the analyst role may not see of PEOPLE: names, birth date, identifiers. */
const HIDDEN_FROM_ANALYSTS = ['given_name', 'family_name', 'birth_date', 'identifiers'];

/** The field names of an export in each format. */
async function fieldsIn(format: string, key: string, name = 'people'): Promise<string[]> {
  const res = await t.download(name, { format }, key);
  expect(res.statusCode, res.body).toBe(200);
  switch (format) {
    case 'csv':
      return parseCsv(res.body)[0]!;
    case 'json':
      return Object.keys(res.json<{ records: Row[] }>().records[0]!);
    case 'ndjson':
      return Object.keys(JSON.parse(res.body.split('\n')[0]!) as Row);
    case 'xml': {
      const doc = new XMLParser({ isArray: (tag) => tag === 'individual' }).parse(res.body) as {
        export: { individual: Row[] };
      };
      return [...new Set(doc.export.individual.flatMap((p) => Object.keys(p)))];
    }
    default: {
      const rows = await parquetReadObjects({ file: Uint8Array.from(res.rawPayload).buffer });
      return Object.keys(rows[0]!);
    }
  }
}

beforeAll(async () => {
  t = await createExportTestApp(40);
  await t.define({ name: 'people', entity: 'individuals', fields: PEOPLE, format: 'csv' });
  await t.define({
    name: 'people-pseudo',
    entity: 'individuals',
    fields: PEOPLE,
    format: 'json',
    pseudonymise: true,
  });
  await t.define({
    name: 'people-deidentified',
    entity: 'individuals',
    fields: PEOPLE,
    format: 'json',
    drop_direct_identifiers: true,
  });
});
afterAll(() => t.close());

describe('field policy', () => {
  it.each(['csv', 'json', 'ndjson', 'xml', 'parquet'])(
    'hides what an analyst may not see in %s',
    async (format) => {
      const analyst = await t.keyFor('analyst');
      const fields = await fieldsIn(format, analyst);
      for (const hidden of HIDDEN_FROM_ANALYSTS) {
        expect(fields).not.toContain(hidden);
      }
      expect(fields).toEqual(expect.arrayContaining(['id', 'sex', 'birth_year']));
      const admin = await fieldsIn(format, t.adminKey);
      expect(admin).toEqual(expect.arrayContaining(HIDDEN_FROM_ANALYSTS));
    },
  );

  it('names the withheld fields in a header', async () => {
    const analyst = await t.keyFor('analyst');
    const res = await t.download('people', {}, analyst);
    expect(res.headers['export-withheld-fields']).toBe(HIDDEN_FROM_ANALYSTS.join(', '));
    expect((await t.download('people')).headers['export-withheld-fields']).toBe('');
  });

  it('refuses a definition whose filter uses a field the caller may not see', async () => {
    await t.define({
      name: 'by-name',
      entity: 'individuals',
      fields: ['id'],
      filter: { surname: 'X' },
      format: 'csv',
    });
    const analyst = await t.keyFor('analyst');
    const res = await t.download('by-name', {}, analyst);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ detail: string }>().detail).toMatch(/may not search by surname/);
  });
});

describe('area scope', () => {
  let scoped: TestClient;
  let area: string;

  beforeAll(async () => {
    scoped = await newClient(t, 'integrator');
    const [first] = await t.database.db.selectFrom('households').select('admin_area_code').limit(1).execute();
    area = first!.admin_area_code;
    await setPolicy(t, scoped.id, { area_codes: [area] });
  });

  it("exports only the records of the client's areas", async () => {
    await t.define({
      name: 'households',
      entity: 'households',
      fields: ['id', 'admin_area_code'],
      format: 'ndjson',
    });
    const res = await t.download('households', {}, scoped.key);
    const rows = res.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Row);
    const inArea = await t.database.db
      .selectFrom('households')
      .select('id')
      .where((eb) => eb.or([eb('admin_area_code', '=', area), eb('admin_area_code', 'like', `${area}-%`)]))
      .orderBy('id')
      .execute();
    expect(rows.map((row) => row['id'])).toEqual(inArea.map((h) => h.id));
    const all = await t.download('households');
    expect(all.body.trimEnd().split('\n').length).toBeGreaterThan(rows.length);
  });

  it('keeps the scope in the flat household_members view', async () => {
    await t.define({
      name: 'members',
      entity: 'household_members',
      fields: ['id', 'household_admin_area_code'],
      format: 'csv',
    });
    const [, ...rows] = parseCsv((await t.download('members', {}, scoped.key)).body);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row[1] === area || row[1]!.startsWith(`${area}-`))).toBe(true);
  });
});

describe('pseudonymised and de-identified exports', () => {
  const records = async (key: string, name = 'people-pseudo') =>
    (await t.download(name, {}, key)).json<{ records: Row[] }>().records;

  it('replaces identifiers with a keyed hash per recipient', async () => {
    const first = await newClient(t, 'integrator');
    const second = await newClient(t, 'integrator');
    const [a, again, b, raw] = await Promise.all([
      records(first.key),
      records(first.key),
      records(second.key),
      t.download('people', { format: 'json' }),
    ]);
    const rawRows = raw.json<{ records: Row[] }>().records;
    expect(a).toHaveLength(rawRows.length);
    // Stable for one recipient: its files join up.
    expect(again).toEqual(a);
    // Different for another: two recipients cannot join theirs.
    expect(a.map((r) => r['id'])).not.toEqual(b.map((r) => r['id']));
    const rawIds = new Set(rawRows.flatMap((r) => [r['id'], r['household_id']]));
    for (const row of a) {
      expect(row['id']).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(rawIds.has(row['id'])).toBe(false);
      expect(rawIds.has(row['household_id'])).toBe(false);
    }
    // Members of one household keep one pseudonymous household id.
    const households = (rows: Row[]) => new Set(rows.map((r) => r['household_id'])).size;
    expect(households(a)).toBe(households(rawRows));
    // Identifier types stay; values are hashed.
    const rawValues = new Set(rawRows.flatMap((r) => (r['identifiers'] as Row[]).map((x) => x['value'])));
    const ids = a.flatMap((r) => r['identifiers'] as Row[]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      expect(id['type']).toMatch(/^[A-Z_]+$/);
      expect(rawValues.has(id['value'])).toBe(false);
    }
    // Non-identifying fields are unchanged.
    expect(a.map((r) => r['sex']).sort()).toEqual(rawRows.map((r) => r['sex']).sort());
  });

  it('keeps the recipient key sealed at rest', async () => {
    const keys = await t.database.db.selectFrom('export_pseudonym_keys').select('sealed_key').execute();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key.sealed_key.split('.')).toHaveLength(5);
    }
  });

  it('drops direct identifiers but keeps the birth year', async () => {
    const res = await t.download('people-deidentified');
    expect(res.headers['export-withheld-fields']).toBe('given_name, family_name, birth_date, identifiers');
    const [row] = res.json<{ records: Row[] }>().records;
    expect(Object.keys(row!)).toEqual(['id', 'household_id', 'sex', 'birth_year']);
  });
});

describe('purpose, legal basis and audit', () => {
  it('requires a purpose and a lawful basis', async () => {
    const noBasis = await t.get('/api/v1/export-definitions/people/data?purpose=x', t.adminKey);
    expect(noBasis.statusCode).toBe(400);
    expect(noBasis.body).toContain('legal_basis');
    const badBasis = await t.get('/api/v1/export-definitions/people/data?legal_basis=because', t.adminKey, {
      'x-purpose': 'x',
    });
    expect(badBasis.statusCode).toBe(400);
    const noPurpose = await t.get('/api/v1/export-definitions/people/data?legal_basis=consent', t.adminKey);
    expect(noPurpose.statusCode).toBe(400);
    expect(noPurpose.json()).toMatchObject({ errors: [{ pointer: 'purpose' }] });
    const header = await t.get('/api/v1/export-definitions/people/data?legal_basis=consent', t.adminKey, {
      'x-purpose': 'targeting review',
    });
    expect(header.statusCode).toBe(200);
  });

  it('records who exported which definition, why, on which basis, and how many records', async () => {
    const client = await newClient(t, 'integrator');
    const res = await t.get(
      '/api/v1/export-definitions/people/data?legal_basis=legal_obligation',
      client.key,
      {
        'x-purpose': 'annual census reconciliation',
        'x-request-id': 'export-audit-1',
      },
    );
    expect(res.statusCode).toBe(200);
    const rows = parseCsv(res.body).length - 1;
    // The completion entry is written once the response has gone.
    await expect
      .poll(async () => {
        const audit = await t.send('GET', `/api/v1/audit?client_id=${client.id}`);
        return audit.json<{ items: Row[] }>().items.map((e) => e['action']);
      })
      .toContain('export.download.done');
    const audit = await t.send('GET', `/api/v1/audit?client_id=${client.id}`);
    const entries = audit.json<{ items: Row[] }>().items.filter((e) => e['request_id'] === 'export-audit-1');
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'export.download',
          resource_id: 'people@1',
          purpose: 'annual census reconciliation',
          legal_basis: 'legal_obligation',
          outcome: 'success',
        }),
        expect.objectContaining({
          action: 'export.download.done',
          resource_id: 'people@1',
          purpose: 'annual census reconciliation',
          legal_basis: 'legal_obligation',
          record_count: rows,
          outcome: 'success',
        }),
      ]),
    );
    const verify = await t.send('GET', '/api/v1/audit/verify');
    expect(verify.json()).toMatchObject({ ok: true });
  });
});
