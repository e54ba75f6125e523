import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExportTestApp, type ExportTestApp } from './support.ts';

let t: ExportTestApp;
beforeAll(async () => {
  t = await createExportTestApp(10);
});
afterAll(() => t.close());

const base = {
  name: 'poor-households',
  description: 'Households under the PMT threshold',
  entity: 'households',
  fields: ['id', 'household_number', 'admin_area_code', 'pmt_score'],
  filter: { pmt_score: { $lt: 40 } },
  format: 'csv',
};

describe('export definitions', () => {
  it('saves, versions, lists and archives a definition', async () => {
    const created = await t.define(base);
    expect(created).toMatchObject({
      name: 'poor-households',
      version: 1,
      entity: 'households',
      format: 'csv',
    });
    expect(created['filter']).toEqual({ pmt_score: { $lt: 40 } });

    const v2 = await t.send('PUT', '/api/v1/export-definitions/poor-households', {
      ...base,
      fields: [...base.fields, 'member_count'],
      format: 'parquet',
    });
    expect(v2.statusCode, v2.body).toBe(200);
    expect(v2.json()).toMatchObject({ version: 2, format: 'parquet' });

    const current = await t.send('GET', '/api/v1/export-definitions/poor-households');
    expect(current.json()).toMatchObject({ version: 2 });
    const first = await t.send('GET', '/api/v1/export-definitions/poor-households?version=1');
    expect(first.json()).toMatchObject({ version: 1, format: 'csv', fields: base.fields });
    const versions = await t.send('GET', '/api/v1/export-definitions/poor-households/versions');
    expect(versions.json<{ items: { version: number }[] }>().items.map((d) => d.version)).toEqual([2, 1]);
    const list = await t.send('GET', '/api/v1/export-definitions');
    expect(list.json<{ items: { name: string; version: number }[] }>().items).toContainEqual(
      expect.objectContaining({ name: 'poor-households', version: 2 }),
    );

    // An older version can still be exported, as it was.
    const old = await t.download('poor-households', { version: '1' });
    expect(old.statusCode).toBe(200);
    expect(old.body.split('\r\n')[0]).toBe('id,household_number,admin_area_code,pmt_score');

    expect((await t.send('DELETE', '/api/v1/export-definitions/poor-households')).statusCode).toBe(204);
    expect((await t.send('GET', '/api/v1/export-definitions/poor-households')).statusCode).toBe(404);
    expect((await t.download('poor-households')).statusCode).toBe(404);
    const reuse = await t.send('POST', '/api/v1/export-definitions', base);
    expect(reuse.statusCode).toBe(409);
    expect(reuse.json<{ detail: string }>().detail).toMatch(/archived/);
  });

  it('audits definition changes', async () => {
    await t.define({ ...base, name: 'audited' });
    const audit = await t.send('GET', '/api/v1/audit?action=export_definition.create');
    expect(audit.json<{ items: { resource_id: string }[] }>().items).toContainEqual(
      expect.objectContaining({ resource_id: 'audited@1' }),
    );
  });

  it('refuses a second definition of the same name, and a version of an unknown one', async () => {
    await t.define({ ...base, name: 'twice' });
    const again = await t.send('POST', '/api/v1/export-definitions', { ...base, name: 'twice' });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ detail: string }>().detail).toContain('PUT /api/v1/export-definitions/twice');
    const unknown = await t.send('PUT', '/api/v1/export-definitions/nobody', { ...base, name: 'nobody' });
    expect(unknown.statusCode).toBe(404);
    const renamed = await t.send('PUT', '/api/v1/export-definitions/twice', { ...base, name: 'other' });
    expect(renamed.statusCode).toBe(400);
    expect(renamed.json()).toMatchObject({ errors: [{ pointer: '/name' }] });
  });

  it.each([
    [{ fields: ['id', 'shoe_size'] }, '/fields/1', /unknown field "shoe_size" of households/],
    [{ fields: ['id', 'id'] }, '/fields/1', /listed twice/],
    [{ fields: [] }, '/fields', /fewer than 1/],
    [{ entity: 'cars' }, '/entity', /./],
    [{ format: 'xlsx' }, '/format', /./],
    [{ name: 'Bad Name!' }, '/name', /pattern/],
    [{ include_members: true }, '/include_members', /household_members/],
    [
      { entity: 'individuals', fields: ['id'], include_members: true, format: 'json' },
      '/include_members',
      /./,
    ],
    [{ schedule: 'every tuesday' }, '/schedule', /cron/],
    [{ filter: { shoe_size: 3 } }, '/filter', /unknown attribute "shoe_size"/],
    [{ filter: { pmt_score: { $regex: 'x' } } }, '/filter', /\$regex/],
    [{ filter: { pmt_score: 'low' } }, '/filter', /pmt_score expects/],
    [{ surprise: true }, '/surprise', /./],
  ])('refuses a bad definition %j naming the field', async (change, pointer, detail) => {
    const res = await t.send('POST', '/api/v1/export-definitions', { ...base, name: 'bad', ...change });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<{ errors: { pointer: string; detail: string }[] }>();
    const error = problem.errors.find((e) => e.pointer === pointer);
    expect(error, res.body).toBeDefined();
    expect(error!.detail).toMatch(detail);
    // Nothing was saved.
    expect((await t.send('GET', '/api/v1/export-definitions/bad')).statusCode).toBe(404);
  });

  it('lists the fields of each entity with their policy class', async () => {
    const res = await t.send('GET', '/api/v1/export-fields');
    const fields =
      res.json<Record<string, { name: string; field_class: string | null; direct_identifier: boolean }[]>>();
    expect(Object.keys(fields)).toEqual(['households', 'individuals', 'household_members']);
    expect(fields['individuals']).toContainEqual(
      expect.objectContaining({ name: 'given_name', field_class: 'name', direct_identifier: true }),
    );
    expect(fields['household_members']!.map((f) => f.name)).toContain('household_pmt_score');
  });

  it('lets analysts design definitions but not integrators, and nobody without a key', async () => {
    const analyst = await t.keyFor('analyst');
    const integrator = await t.keyFor('integrator');
    const byAnalyst = await t.send(
      'POST',
      '/api/v1/export-definitions',
      { ...base, name: 'by-analyst' },
      analyst,
    );
    expect(byAnalyst.statusCode, byAnalyst.body).toBe(201);
    const byIntegrator = await t.send(
      'POST',
      '/api/v1/export-definitions',
      { ...base, name: 'by-integrator' },
      integrator,
    );
    expect(byIntegrator.statusCode).toBe(403);
    // Integrators may list and run them.
    expect((await t.send('GET', '/api/v1/export-definitions', undefined, integrator)).statusCode).toBe(200);
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/export-definitions' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('refuses a filter on a field the saver may not see', async () => {
    const analyst = await t.keyFor('analyst');
    const res = await t.send(
      'POST',
      '/api/v1/export-definitions',
      { ...base, name: 'by-name', entity: 'individuals', fields: ['id'], filter: { given_name: 'Amina' } },
      analyst,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json<{ detail: string }>().detail).toMatch(/may not search by given_name/);
  });
});
