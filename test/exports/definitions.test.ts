import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClient } from '#test/clients';
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

  it('takes the name of a new version from the path: the body need not repeat it', async () => {
    await t.define({ ...base, name: 'pathname' });
    const { name: _name, ...withoutName } = base;
    const v2 = await t.send('PUT', '/api/v1/export-definitions/pathname', { ...withoutName, format: 'json' });
    expect(v2.statusCode, v2.body).toBe(200);
    expect(v2.json()).toMatchObject({ name: 'pathname', version: 2, format: 'json' });
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

describe('export definitions: who may change them', () => {
  const scheduled = {
    ...base,
    name: 'monthly-pseudo',
    fields: ['id', 'admin_area_code', 'pmt_score'],
    pseudonymise: true,
    schedule: '0 2 1 * *',
    schedule_purpose: 'monthly targeting review',
    schedule_legal_basis: 'public_task',
  };
  // A new version's body, without a name (the path names the definition).
  const { name: _name, ...unnamed } = base;
  const put = (name: string, body: object, key?: string) =>
    t.send('PUT', `/api/v1/export-definitions/${name}`, body, key);
  const decide = (name: string, version: number, decision: string, key?: string) =>
    t.send(
      'POST',
      `/api/v1/export-definitions/${name}/versions/${version}/decision`,
      {
        decision,
        reason: 'reviewed with the data protection officer',
      },
      key,
    );
  const firstId = async (name: string) => (await t.download(name)).body.split('\r\n')[1]!.split(',')[0]!;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-/;

  it("lets a client change and archive its own definitions, and another's only with exports:admin", async () => {
    const analyst = await newClient(t, 'analyst');
    const other = await newClient(t, 'analyst');
    const admins = await t.define({ ...base, name: 'admins-own' });
    const own = await t.define({ ...base, name: 'analysts-own' }, analyst.key);
    expect(own).toMatchObject({ owner_id: analyst.id, created_by: analyst.id });

    for (const [method, name, key] of [
      ['PUT', 'admins-own', analyst.key],
      ['DELETE', 'admins-own', analyst.key],
      ['PUT', 'analysts-own', other.key],
      ['DELETE', 'analysts-own', other.key],
    ] as const) {
      const res = await t.send(
        method,
        `/api/v1/export-definitions/${name}`,
        method === 'PUT' ? unnamed : undefined,
        key,
      );
      expect(res.statusCode, `${method} ${name}`).toBe(403);
      expect(res.json<{ detail: string }>().detail).toMatch(
        /belongs to another client; changing it needs the exports:admin permission/,
      );
    }
    // Approving needs exports:admin too.
    expect((await decide('admins-own', 1, 'approve', analyst.key)).statusCode).toBe(403);
    expect((await t.send('GET', '/api/v1/export-definitions/admins-own')).json()).toMatchObject({
      version: 1,
    });

    expect((await put('analysts-own', { ...unnamed, format: 'json' }, analyst.key)).statusCode).toBe(200);
    // An administrator may change another's definition; it stays the owner's.
    const byAdmin = await put('analysts-own', { ...unnamed, format: 'xml' });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json()).toMatchObject({
      version: 3,
      owner_id: analyst.id,
      created_by: admins['owner_id'],
    });
    expect(
      (await t.send('DELETE', '/api/v1/export-definitions/analysts-own', undefined, analyst.key)).statusCode,
    ).toBe(204);
  });

  it('audits a version that weakens privacy as such', async () => {
    await t.define({ ...base, name: 'weakened', pseudonymise: true });
    const res = await put('weakened', { ...unnamed, pseudonymise: false, filter: null });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      version: 2,
      approval: 'not_needed',
      privacy_weakened: [
        'pseudonymisation turned off',
        'filter widened (or changed in a way that may widen it)',
      ],
    });
    expect(
      (
        await put('weakened', { ...unnamed, pseudonymise: false, filter: null, description: 'renamed' })
      ).json(),
    ).toMatchObject({
      privacy_weakened: [],
    });
    const audit = await t.send('GET', '/api/v1/audit?action=export_definition.privacy_weakened');
    expect(audit.json<{ items: { resource_id: string }[] }>().items.map((e) => e.resource_id)).toEqual([
      'weakened@2',
    ]);
  });

  it('keeps a weakening version of a scheduled definition waiting for another administrator', async () => {
    await t.define(scheduled);
    const pseudonymised = await firstId('monthly-pseudo');
    expect(pseudonymised).not.toMatch(UUID);

    const weakening = await put('monthly-pseudo', { ...scheduled, pseudonymise: false });
    expect(weakening.statusCode, weakening.body).toBe(202);
    expect(weakening.json()).toMatchObject({
      version: 2,
      approval: 'pending',
      privacy_weakened: ['pseudonymisation turned off'],
    });
    // Meanwhile the version before stays in use; the one waiting can be read but not exported.
    expect((await t.send('GET', '/api/v1/export-definitions/monthly-pseudo')).json()).toMatchObject({
      version: 1,
    });
    expect((await t.send('GET', '/api/v1/export-definitions/monthly-pseudo?version=2')).json()).toMatchObject(
      { approval: 'pending' },
    );
    expect((await t.download('monthly-pseudo', { version: '2' })).statusCode).toBe(404);
    expect(await firstId('monthly-pseudo')).toBe(pseudonymised);
    const another = await put('monthly-pseudo', scheduled);
    expect(another.statusCode).toBe(409);
    expect(another.json<{ detail: string }>().detail).toMatch(/version 2 .* waits for approval/);

    // Not by its author; by another holder of exports:admin.
    expect((await decide('monthly-pseudo', 2, 'approve')).statusCode).toBe(403);
    const second = await t.keyFor('admin');
    const approved = await decide('monthly-pseudo', 2, 'approve', second);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({
      approval: 'approved',
      decision_reason: 'reviewed with the data protection officer',
    });
    expect(await firstId('monthly-pseudo')).toMatch(UUID);
    expect((await decide('monthly-pseudo', 2, 'reject', second)).statusCode).toBe(409);

    // A rejected version is never used.
    expect(
      (
        await put('monthly-pseudo', {
          ...scheduled,
          pseudonymise: false,
          drop_direct_identifiers: false,
          fields: [...scheduled.fields, 'address_line'],
        })
      ).statusCode,
    ).toBe(202);
    expect((await decide('monthly-pseudo', 3, 'reject', second)).json()).toMatchObject({
      approval: 'rejected',
    });
    expect((await t.send('GET', '/api/v1/export-definitions/monthly-pseudo')).json()).toMatchObject({
      version: 2,
    });
    expect((await put('monthly-pseudo', { ...scheduled, pseudonymise: false })).json()).toMatchObject({
      version: 4,
    });
  });
});
