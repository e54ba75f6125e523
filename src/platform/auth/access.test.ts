import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, secretOf, type TestApp } from '#test/app';
import { idType, predicate, searchMessage } from '#test/dci/harness';
import { insertEnrollment, insertHousehold, insertIndividual, insertProgram } from '#test/factories';

describe('authentication and authorisation', () => {
  let t: TestApp;
  let personId: string;
  let householdId: string;

  beforeAll(async () => {
    t = await createTestApp();
    householdId = await insertHousehold(t.database.db);
    personId = await insertIndividual(t.database.db, householdId, {}, [{ type: 'UIN', value: 'NID-42' }]);
    const program = await insertProgram(t.database.db, { target_unit: 'individual' });
    await insertEnrollment(t.database.db, program, { individual_id: personId });
  });
  afterAll(() => t.close());

  it('answers 401 without a key, with a malformed key, and with an unknown key', async () => {
    for (const key of [undefined, 'nonsense', 'spx_aaaaaaaaaaaa_' + 'A'.repeat(43)]) {
      const res = await t.get('/api/v1/programs', key);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.json()).toMatchObject({ status: 401 });
    }
  });

  it('accepts the key as a bearer token or in X-API-Key', async () => {
    expect((await t.get('/api/v1/programs', t.adminKey)).statusCode).toBe(200);
    expect((await t.get('/api/v1/programs', undefined, { 'x-api-key': t.adminKey })).statusCode).toBe(200);
  });

  it('answers 403 when the role lacks the permission', async () => {
    const analyst = await t.keyFor('analyst');
    const res = await t.get('/api/v1/clients', analyst);
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toContain('clients:manage');
  });

  it('answers 403 when a key was issued with narrower scopes than its role', async () => {
    const narrow = await t.keyFor('integrator', ['jobs:read']);
    expect((await t.get('/api/v1/programs', narrow)).statusCode).toBe(403);
  });

  it('reads, describes, disables and enables a client; a disabled client is refused at once', async () => {
    const admin = (method: 'GET' | 'PATCH', url: string, payload?: unknown) =>
      t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${t.adminKey}` },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
    const created = await admin('GET', '/api/v1/clients');
    expect(created.statusCode).toBe(200);
    const key = await t.keyFor('integrator');
    const prefix = key.split('_')[1]!;
    const { client_id: id } = await t.database.db
      .selectFrom('api_keys')
      .select('client_id')
      .where('prefix', '=', prefix)
      .executeTakeFirstOrThrow();
    expect((await admin('GET', `/api/v1/clients/${id}`)).json()).toMatchObject({ id, role: 'integrator' });

    const described = await admin('PATCH', `/api/v1/clients/${id}`, { description: 'Cash transfer MIS' });
    expect(described.json()).toMatchObject({ description: 'Cash transfer MIS', disabled_at: null });
    // Read once, so that a cached credential would be the one to drop.
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(200);
    const disabled = await admin('PATCH', `/api/v1/clients/${id}`, { disabled: true });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json().disabled_at).not.toBeNull();
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(401);
    expect(
      (await admin('PATCH', `/api/v1/clients/${id}`, { disabled: false })).json().disabled_at,
    ).toBeNull();
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(200);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('resource_id', '=', id)
      .where('action', '=', 'client.update')
      .execute();
    expect(audit).toHaveLength(3);
  });

  it('refuses bad client changes with a clear error and changes nothing', async () => {
    const me = await t.get('/api/v1/clients', t.adminKey);
    const adminPrefix = t.adminKey.split('_')[1]!;
    const { client_id: adminId } = await t.database.db
      .selectFrom('api_keys')
      .select('client_id')
      .where('prefix', '=', adminPrefix)
      .executeTakeFirstOrThrow();
    expect(me.statusCode).toBe(200);
    const patch = (id: string, payload: unknown, key = t.adminKey) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/v1/clients/${id}`,
        headers: { authorization: `Bearer ${key}` },
        payload: payload as Record<string, unknown>,
      });
    expect((await patch(adminId, { disabled: true })).statusCode).toBe(409);
    expect((await patch(adminId, {})).statusCode).toBe(400);
    expect((await patch(adminId, { role: 'analyst' })).statusCode).toBe(400);
    expect((await patch(adminId, { disabled: 'yes' })).statusCode).toBe(400);
    expect((await patch('00000000-0000-4000-8000-000000000000', { disabled: true })).statusCode).toBe(404);
    expect((await patch(adminId, { description: 'x' }, await t.keyFor('integrator'))).statusCode).toBe(403);
    const row = await t.database.db
      .selectFrom('api_clients')
      .select(['disabled_at', 'role'])
      .where('id', '=', adminId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ disabled_at: null, role: 'admin' });
  });

  it('refuses a revoked key at once', async () => {
    const key = await t.keyFor('integrator');
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(200);
    const prefix = key.split('_')[1]!;
    const row = await t.database.db
      .selectFrom('api_keys')
      .select('id')
      .where('prefix', '=', prefix)
      .executeTakeFirstOrThrow();
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${row.id}`,
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(revoke.statusCode).toBe(200);
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(401);
  });

  it('refuses an expired key', async () => {
    const key = await t.keyFor('integrator');
    await t.database.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('prefix', '=', key.split('_')[1]!)
      .execute();
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(401);
  });

  it('stores keys only as hashes', async () => {
    const rows = await t.database.db.selectFrom('api_keys').select(['prefix', 'secret_hash']).execute();
    const secret = secretOf(t.adminKey);
    for (const row of rows) {
      expect(row.secret_hash.length).toBe(32);
      expect(row.secret_hash.toString('utf8')).not.toContain(secret);
    }
  });

  it('rejects a malformed X-Purpose', async () => {
    const res = await t.get('/api/v1/programs', t.adminKey, { 'x-purpose': '<script>' });
    expect(res.statusCode).toBe(400);
  });

  describe('field policy by role', () => {
    it('an analyst never receives names, identifiers, contacts, exact places or birth dates', async () => {
      const analyst = await t.keyFor('analyst');
      const person = (await t.get(`/api/v1/individuals/${personId}`, analyst)).json();
      expect(person).not.toHaveProperty('given_name');
      expect(person).not.toHaveProperty('family_name');
      expect(person).not.toHaveProperty('identifiers');
      expect(person).not.toHaveProperty('phone');
      expect(person).not.toHaveProperty('birth_date');
      expect(person).toMatchObject({ birth_year: 1985, sex: 'female' });
      const household = (await t.get(`/api/v1/households/${householdId}`, analyst)).json();
      expect(household).not.toHaveProperty('location');
      expect(household).not.toHaveProperty('address_line');
      expect(household.members[0]).not.toHaveProperty('given_name');
      expect(household).toHaveProperty('pmt_score');
      const list = (await t.get('/api/v1/individuals', analyst)).json();
      expect(JSON.stringify(list)).not.toContain('Amina');
      const enrollments = (await t.get(`/api/v1/individuals/${personId}/enrollments`, analyst)).json();
      expect(enrollments.items[0]).not.toHaveProperty('payment_account');
    });

    it('an analyst receives neither dates of death nor household numbers, on REST, DCI and GraphQL', async () => {
      const db = t.database.db;
      const household = await insertHousehold(db, { household_number: 'HH-DEATH-1' });
      const person = await insertIndividual(
        db,
        household,
        { is_deceased: true, deceased_date: '2024-02-29' },
        [],
      );
      const analyst = await t.keyFor('analyst');
      const rest = [
        (await t.get(`/api/v1/individuals/${person}`, analyst)).body,
        (await t.get(`/api/v1/households/${household}`, analyst)).body,
      ];
      expect(JSON.parse(rest[0]!)).toMatchObject({ is_deceased: true, birth_year: 1985 });
      const dci = await t.app.inject({
        method: 'POST',
        url: '/dci/sr/registry/sync/search',
        headers: { authorization: `Bearer ${analyst}` },
        payload: searchMessage(predicate('Group', ['location', 'eq', 'R01-D01'])),
      });
      expect(dci.statusCode, dci.body).toBe(200);
      const graph = await t.app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { authorization: `Bearer ${analyst}` },
        payload: { query: `{ household(id: "${household}") { householdNumber members { deceasedDate } } }` },
      });
      expect(graph.json().data.household).toEqual({
        householdNumber: null,
        members: [{ deceasedDate: null }],
      });
      for (const body of [...rest, dci.body, graph.body]) {
        expect(body).not.toContain('2024-02-29');
        expect(body).not.toContain('HH-DEATH-1');
      }
      // Nor may it search by them.
      const byNumber = await t.app.inject({
        method: 'POST',
        url: '/dci/sr/registry/sync/search',
        headers: { authorization: `Bearer ${analyst}` },
        payload: searchMessage(idType('Group', 'household_number', 'HH-DEATH-1')),
      });
      expect(byNumber.body).toMatch(/may not search by household_number/);
    });

    it('an analyst may not search by identifier (it would reveal who is registered)', async () => {
      const analyst = await t.keyFor('analyst');
      const res = await t.get('/api/v1/individuals?identifier_type=UIN&identifier_value=NID-42', analyst);
      expect(res.statusCode).toBe(403);
    });

    it('a field agent sees names but not poverty scores or payment accounts', async () => {
      const agent = await t.keyFor('field_agent');
      const household = (await t.get(`/api/v1/households/${householdId}`, agent)).json();
      expect(household).not.toHaveProperty('pmt_score');
      expect(household).not.toHaveProperty('income_band');
      expect(household.members[0].given_name).toBe('Amina');
      const enrollments = (await t.get(`/api/v1/individuals/${personId}/enrollments`, agent)).json();
      expect(enrollments.items[0]).not.toHaveProperty('payment_account');
    });

    it('an integrator sees identifiers but not payment accounts; admin and system see everything', async () => {
      const integrator = await t.keyFor('integrator');
      expect((await t.get(`/api/v1/individuals/${personId}`, integrator)).json().identifiers).toEqual([
        { type: 'UIN', value: 'NID-42' },
      ]);
      const hidden = (await t.get(`/api/v1/individuals/${personId}/enrollments`, integrator)).json();
      expect(hidden.items[0]).not.toHaveProperty('payment_account');
      for (const key of [t.adminKey, await t.keyFor('system')]) {
        const full = (await t.get(`/api/v1/individuals/${personId}/enrollments`, key)).json();
        expect(full.items[0].payment_account).toBe('+255712345678');
      }
    });
  });
});

describe('client and key administration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const post = (url: string, key: string, payload: unknown) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}` },
      payload: payload as object,
    });

  it('creates a client and a key that works, shown once and listed without its secret', async () => {
    const client = await post('/api/v1/clients', t.adminKey, {
      name: 'eligibility-engine',
      role: 'integrator',
    });
    expect(client.statusCode).toBe(201);
    const issued = await post(`/api/v1/clients/${client.json().id}/keys`, t.adminKey, {
      expires_in_days: 30,
    });
    expect(issued.statusCode).toBe(201);
    const key = issued.json().key as string;
    expect(issued.json().scopes).toEqual(['registry:read', 'jobs:read']);
    expect((await t.get('/api/v1/programs', key)).statusCode).toBe(200);
    const listed = await t.get(`/api/v1/clients/${client.json().id}/keys`, t.adminKey);
    expect(JSON.stringify(listed.json())).not.toContain(secretOf(key));
  });

  it('rejects bad input with field-level errors and writes nothing', async () => {
    const before = await t.database.db
      .selectFrom('api_clients')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    const cases = [
      { name: 'x', role: 'integrator' },
      { name: 'valid-name', role: 'superuser' },
      { name: 'valid-name', role: 'integrator', extra: true },
      {},
    ];
    for (const payload of cases) {
      const res = await post('/api/v1/clients', t.adminKey, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.length).toBeGreaterThan(0);
    }
    const notJson = await t.app.inject({
      method: 'POST',
      url: '/api/v1/clients',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(notJson.statusCode).toBe(400);
    const after = await t.database.db
      .selectFrom('api_clients')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toEqual(before.n);
  });

  it('refuses a duplicate client name with 409', async () => {
    await post('/api/v1/clients', t.adminKey, { name: 'dup-client', role: 'analyst' });
    expect(
      (await post('/api/v1/clients', t.adminKey, { name: 'dup-client', role: 'analyst' })).statusCode,
    ).toBe(409);
  });

  it('refuses scopes outside the client role', async () => {
    const client = await post('/api/v1/clients', t.adminKey, { name: 'stats-office', role: 'analyst' });
    const res = await post(`/api/v1/clients/${client.json().id}/keys`, t.adminKey, {
      scopes: ['clients:manage'],
    });
    expect(res.statusCode).toBe(400);
  });

  it('never lets a key create a key wider than itself', async () => {
    const narrowAdmin = await t.keyFor('admin', ['clients:manage']);
    const client = await post('/api/v1/clients', t.adminKey, { name: 'mis-system', role: 'integrator' });
    const res = await post(`/api/v1/clients/${client.json().id}/keys`, narrowAdmin, {});
    expect(res.statusCode).toBe(403);
    const adminClient = await post('/api/v1/clients', narrowAdmin, { name: 'another-admin', role: 'admin' });
    expect(adminClient.statusCode).toBe(403);
  });

  it('answers 404 for keys of an unknown client and for revoking an unknown key', async () => {
    expect(
      (await post('/api/v1/clients/00000000-0000-4000-8000-000000000000/keys', t.adminKey, {})).statusCode,
    ).toBe(404);
    const res = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/keys/00000000-0000-4000-8000-000000000000',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(res.statusCode).toBe(404);
  });
});
