import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertEnrollment, insertProgram } from '#test/factories';
import { groupNumbers, itemsOf, keysDeep, seedRegistry, type Registry6 } from '#test/dci/fixtures';
import { example, idType, predicate, searchMessage } from '#test/dci/harness';
import { asAdmin, dciPost, newClient, type TestClient } from '#test/clients';
import { setPolicy } from './helpers.ts';

const SR_SEARCH = '/dci/sr/registry/sync/search';
const IBR = '/dci/ibr/registry/sync';

// Tests read arbitrary JSON answers by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** search_criteria stating a purpose in the DCI consent object. */
const withConsent = (criteria: Record<string, unknown>, code: string) => ({
  ...criteria,
  consent: { '@type': 'Consent', ts: '2025-01-15T10:00:00Z', purpose: { text: 'A purpose', code } },
});
const everyGroup = (pageSize = 10) => ({
  ...predicate('Group', ['group_size', 'ge', 0]),
  pagination: { page_size: pageSize, page_number: 1 },
});

describe('per-client policy: what a client sees', () => {
  let t: TestApp;
  let registry: Registry6;

  beforeAll(async () => {
    t = await createTestApp();
    registry = await seedRegistry(t.database.db);
  });
  afterAll(() => t.close());

  const get = async (url: string, client: TestClient, headers: Record<string, string> = {}) =>
    t.get(url, client.key, headers);
  const search = (client: TestClient, ...criteria: Record<string, unknown>[]) =>
    dciPost(t, SR_SEARCH, searchMessage(...criteria), client.key);

  describe('hidden fields', () => {
    it('removes the classes the policy hides, beyond the role, from REST and DCI answers', async () => {
      const client = await newClient(t, 'integrator');
      const before = await get(`/api/v1/households/${registry.households.A}`, client);
      expect(before.json<Json>()['members'][0]).toHaveProperty('given_name');

      await setPolicy(t, client.id, { hidden_fields: ['name', 'contact', 'identifier'] });
      const household = (await get(`/api/v1/households/${registry.households.A}`, client)).json<Json>();
      const person = (await get(`/api/v1/individuals/${registry.persons['amina']}`, client)).json<Json>();
      for (const field of ['given_name', 'family_name', 'middle_name', 'phone', 'identifiers']) {
        expect(keysDeep([household, person]), field).not.toContain(field);
      }
      // What the role shows and the policy does not hide is still there.
      expect(person).toMatchObject({ sex: 'female', birth_date: '1985-05-20' });

      const [groups] = itemsOf(await search(client, predicate('Group', ['location', 'eq', 'R01'])));
      const keys = keysDeep(groups!.data);
      for (const field of [
        'name',
        'given_name',
        'surname',
        'phone_number',
        'identifier',
        'member_identifier',
      ]) {
        expect(keys, field).not.toContain(field);
      }
      expect(keys).toContain('birth_date');
    });

    it('also forbids filtering on a hidden field, which would reveal it', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { hidden_fields: ['identifier'] });
      const [item] = itemsOf(await search(client, idType('Group', 'UIN', 'UIN-A1')));
      expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
      const rest = await get('/api/v1/individuals?identifier_type=UIN&identifier_value=UIN-A1', client);
      expect(rest.statusCode).toBe(403);
    });
  });

  describe('area scope', () => {
    let scoped: TestClient;
    beforeAll(async () => {
      scoped = await newClient(t, 'integrator');
      await setPolicy(t, scoped.id, { area_codes: ['R01-D02'] });
    });

    it('limits REST lists to records of the areas, the areas below them included', async () => {
      const households = (await get('/api/v1/households?limit=100', scoped)).json<Json>();
      expect(households['items'].map((h: Json) => h['household_number']).sort()).toEqual(['HH-C', 'HH-D']);
      // Asking for another area gives nothing rather than widening the scope.
      const other = (await get('/api/v1/households?admin_area=R02', scoped)).json<Json>();
      expect(other['items']).toEqual([]);
      const people = (await get('/api/v1/individuals?limit=100', scoped)).json<Json>();
      expect(people['items'].map((p: Json) => p['given_name']).sort()).toEqual(['Halima', 'Juma', 'Rehema']);
    });

    it('answers 404 for a record outside the scope, as if it did not exist', async () => {
      expect((await get(`/api/v1/households/${registry.households.A}`, scoped)).statusCode).toBe(404);
      expect((await get(`/api/v1/households/${registry.households.C}`, scoped)).statusCode).toBe(200);
      const amina = registry.persons['amina'];
      expect((await get(`/api/v1/individuals/${amina}`, scoped)).statusCode).toBe(404);
      expect((await get(`/api/v1/individuals/${amina}/enrollments`, scoped)).statusCode).toBe(404);
      expect((await get(`/api/v1/individuals/${registry.persons['juma']}`, scoped)).statusCode).toBe(200);
    });

    it('limits DCI searches, their total_count included, and lookups by identifier', async () => {
      const [all, paged, outside, inside] = itemsOf(
        await search(
          scoped,
          everyGroup(),
          everyGroup(1),
          idType('Group', 'UIN', 'UIN-A1'),
          idType('Group', 'UIN', 'UIN-C1'),
        ),
      );
      expect(groupNumbers(all).sort()).toEqual(['HH-C', 'HH-D']);
      expect(paged!.pagination).toMatchObject({ page_size: 1, total_count: 2 });
      expect(outside).toMatchObject({ status: 'succ', pagination: { total_count: 0 } });
      expect(groupNumbers(inside)).toEqual(['HH-C']);

      const [members] = itemsOf(await search(scoped, predicate('Member', ['sex', 'eq', 'female'])));
      expect(members!.pagination!.total_count).toBe(2);
      expect(keysDeep(members!.data)).toContain('demographic_info');
    });

    it('limits the IBR: searches, enrollment lookups and enrollment updates', async () => {
      const db = t.database.db;
      const since = new Date(Date.now() - 60_000).toISOString();
      const program = await insertProgram(db, { code: `P${randomBytes(3).toString('hex')}` });
      await insertEnrollment(db, program, { household_id: registry.households.A });
      await insertEnrollment(db, program, { household_id: registry.households.C });
      const ibrSearch = searchMessage(predicate('Beneficiary', ['enrollment_status', 'eq', 'Active']));
      const [beneficiaries] = itemsOf(await dciPost(t, `${IBR}/search`, ibrSearch, scoped.key), 'ibr');
      expect(beneficiaries!.pagination!.total_count).toBe(1);
      expect(keysDeep(beneficiaries!.data)).toContain('group');

      const enrolled = (value: string) => {
        const message = example<Json>('ibr-sync-enrolled-request');
        message['message'].enrolled_criteria = {
          query_type: 'expression',
          query: { person_identifier: { eq: value } },
        };
        return dciPost(t, `${IBR}/enrolled`, message, scoped.key);
      };
      const statuses = async (value: string) =>
        (await enrolled(value)).json<Json>()['enrolled_response'].map((i: Json) => i['enrolled_status']);
      expect(await statuses('UIN-C1')).toEqual(['yes']);
      expect(await statuses('UIN-A1')).toEqual(['no']);

      const updates = example<Json>('ibr-sync-enrollment-updates-request');
      updates['message'].enrolled_updates = { since };
      const changed = (await dciPost(t, `${IBR}/enrollment/updates`, updates, scoped.key)).json<Json>();
      expect(changed['enrolled_response']).toHaveLength(1);
      expect(changed['enrolled_updates'].beneficiaries).toHaveLength(1);
    });
  });

  describe('purposes', () => {
    let client: TestClient;
    beforeAll(async () => {
      client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { purposes: ['cash_transfer', 'audit'] });
    });
    const households = (purpose?: string) =>
      get('/api/v1/households', client, purpose === undefined ? {} : { 'x-purpose': purpose });

    it('requires X-Purpose (400), refuses one not agreed (403), and lets an agreed one through', async () => {
      const missing = await households();
      expect(missing.statusCode).toBe(400);
      expect(missing.json()).toMatchObject({
        detail: expect.stringContaining('cash_transfer, audit'),
        errors: [{ pointer: 'x-purpose' }],
      });
      const other = await households('marketing');
      expect(other.statusCode).toBe(403);
      expect(other.json<Json>()['detail']).toContain('"marketing" is not allowed');
      expect((await households('Cash_Transfer')).statusCode).toBe(403);
      expect((await households('cash_transfer')).statusCode).toBe(200);
    });

    it('checks the purpose a DCI search states in its consent object, item by item', async () => {
      const criteria = predicate('Group', ['location', 'eq', 'R02']);
      const [none, refused, agreed] = itemsOf(
        await search(client, criteria, withConsent(criteria, 'marketing'), withConsent(criteria, 'audit')),
      );
      expect(none).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
      expect(none!.status_reason_message).toContain('a purpose is required');
      expect(refused).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
      expect(refused!.status_reason_message).toContain('"marketing" is not allowed');
      expect(groupNumbers(agreed).sort()).toEqual(['HH-E', 'HH-F']);
    });

    it('takes X-Purpose for DCI items that state none, and refuses a wrong one in the DCI error shape', async () => {
      const criteria = predicate('Group', ['location', 'eq', 'R02']);
      const header = await dciPost(t, SR_SEARCH, searchMessage(criteria), client.key, {
        'x-purpose': 'audit',
      });
      expect(groupNumbers(itemsOf(header)[0]).sort()).toEqual(['HH-E', 'HH-F']);
      const wrong = await dciPost(t, SR_SEARCH, searchMessage(criteria), client.key, {
        'x-purpose': 'sales',
      });
      expect(wrong.statusCode).toBe(403);
      expect(wrong.json()).toEqual({
        errors: [
          { code: 'err.request.forbidden', message: expect.stringContaining('"sales" is not allowed') },
        ],
      });
    });
  });

  describe('operations, registries and dates', () => {
    it('refuses an operation the agreement does not list, on REST and DCI routes', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, {
        agreement_ref: 'DSA-OPS',
        operations: ['household.*', 'dci.*.search'],
      });
      expect((await get('/api/v1/households', client)).statusCode).toBe(200);
      expect((await get(`/api/v1/households/${registry.households.A}`, client)).statusCode).toBe(200);
      const people = await get('/api/v1/individuals', client);
      expect(people.statusCode).toBe(403);
      expect(people.json<Json>()['detail']).toBe(
        'the data sharing agreement DSA-OPS does not allow the operation individual.list',
      );
      expect(itemsOf(await search(client, everyGroup()))[0]).toMatchObject({ status: 'succ' });
      const status = example<Json>('sr-txn-status-request');
      const refused = await dciPost(t, '/dci/sr/registry/sync/txn/status', status, client.key);
      expect(refused.statusCode).toBe(403);
      expect(refused.json<Json>()['errors'][0]).toMatchObject({ code: 'err.request.forbidden' });
    });

    it('refuses the registries the agreement does not cover', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { registries: ['ibr'] });
      expect((await get('/api/v1/households', client)).statusCode).toBe(403);
      expect((await search(client, everyGroup())).statusCode).toBe(403);
      const ibr = searchMessage(predicate('Beneficiary', ['enrollment_status', 'eq', 'Active']));
      expect((await dciPost(t, `${IBR}/search`, ibr, client.key)).statusCode).toBe(200);
      // Reference data belongs to no registry.
      expect((await get('/api/v1/admin-areas', client)).statusCode).toBe(200);
    });

    it('refuses every request outside the validity dates, until the policy is changed', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { agreement_ref: 'DSA-OLD', valid_until: '2024-12-31T00:00:00Z' });
      const expired = await get('/api/v1/households', client);
      expect(expired.statusCode).toBe(403);
      expect(expired.json<Json>()['detail']).toBe(
        'the data sharing agreement DSA-OLD expired at 2024-12-31T00:00:00.000Z',
      );
      expect((await search(client, everyGroup())).json<Json>()['errors'][0]['code']).toBe(
        'err.request.forbidden',
      );

      await setPolicy(t, client.id, { agreement_ref: 'DSA-NEXT', valid_from: '2099-01-01T00:00:00Z' });
      expect((await get('/api/v1/households', client)).json<Json>()['detail']).toContain(
        'in force from 2099',
      );

      // A change applies at once on this gateway (the cached policy is dropped).
      expect((await asAdmin(t, 'DELETE', `/api/v1/clients/${client.id}/policy`)).statusCode).toBe(204);
      expect((await get('/api/v1/households', client)).statusCode).toBe(200);
    });

    it('records refusals as denied in the audit trail', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { operations: ['program.list'] });
      await get('/api/v1/households', client);
      const [entry] = await t.database.db
        .selectFrom('audit_log')
        .select(['action', 'outcome', 'status_code'])
        .where('client_id', '=', client.id)
        .execute();
      expect(entry).toEqual({ action: 'household.list', outcome: 'denied', status_code: 403 });
    });
  });
});
