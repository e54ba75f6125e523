import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createKey } from '#platform/auth/clients';
import type { Role } from '#platform/auth/roles';
import { currentMapping, installShippedForm, saveMapping } from '#odk/forms';
import { seedRegistry } from '#registry/seed/load';
import { createTestApp, type TestApp } from '#test/app';
import { itemsOf } from '#test/dci/fixtures';
import { insertArea } from '#test/factories';
import { idType, predicate, searchMessage } from '#test/dci/harness';
import { householdInstance, submit } from '#test/odk/collect';

/**
 * Consent you can see (docs/consent.md), on the demo registry: the seed's consents make searches of a
 * client that receives consented records only answer; consents recorded, withdrawn and listed through
 * the API, and given on the ODK form, change what such a client receives at once.
 */

/** search_criteria stating a purpose, as the DCI `consent` object carries it. */
const withPurpose = (criteria: Record<string, unknown>, code: string) => ({
  ...criteria,
  pagination: { page_size: 500, page_number: 1 },
  consent: { '@type': 'Consent', purpose: { code } },
});

describe('consent records', () => {
  let t: TestApp;
  /** A field agent, a case management system, a programme MIS that receives consented records only, an analyst. */
  const clients = {} as Record<
    'agent' | 'caseSystem' | 'mis' | 'analyst',
    { id: string; name: string; key: string }
  >;
  const key = (who: keyof typeof clients) => clients[who].key;

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, as: string | undefined, payload?: object) =>
    t.app.inject({
      method,
      url,
      headers: as ? { authorization: `Bearer ${as}` } : {},
      ...(payload ? { payload } : {}),
    });
  const client = async (role: Role, scopes?: string[]) => {
    const created = await createClient(t.database.db, { name: `${role}-${randomUUID().slice(0, 8)}`, role });
    const { key: secret } = await createKey(t.database.db, created, { scopes, expiresInDays: 1 });
    return { id: created.id, name: created.name, key: secret };
  };
  /** The mis client's DCI sync search, as the gateway answers it. */
  const search = async (criteria: Record<string, unknown>) =>
    itemsOf(await call('POST', '/dci/sr/registry/sync/search', key('mis'), searchMessage(criteria)));
  const consentsOf = (personId: string, as = key('agent')) =>
    call('GET', `/api/v1/individuals/${personId}/consents`, as);

  beforeAll(async () => {
    t = await createTestApp();
    await seedRegistry(t.database, { households: 30, seed: 5 });
    clients.agent = await client('field_agent');
    clients.caseSystem = await client('system');
    clients.mis = await client('integrator');
    clients.analyst = await client('analyst');
    const set = await call('PUT', `/api/v1/clients/${clients.mis.id}/dci/consent`, t.adminKey, {
      consent_required: true,
    });
    expect(set.statusCode, set.body).toBe(200);
  });
  afterAll(() => t.close());

  /** An adult of the demo registry with a UIN of their own and no consent in force to the purpose. */
  async function personWithout(purpose: string): Promise<{ id: string; uin: string }> {
    const { rows } = await sql<{ id: string; uin: string }>`
      select i.id, x.id_value as uin from individuals i
      join identifiers x on x.individual_id = i.id and x.id_type = 'UIN'
      where i.birth_date <= '2000-01-01' and not i.is_deceased
        and (select count(*) from identifiers y where y.id_type = 'UIN' and y.id_value = x.id_value) = 1
        and not exists (select 1 from consents c where c.individual_id = i.id and c.purpose = ${purpose}
          and c.withdrawn_at is null)
      order by i.id limit 1`.execute(t.database.db);
    return rows[0]!;
  }

  it('lists the purposes a registry recognises to every reader', async () => {
    const res = await call('GET', '/api/v1/consent/purposes', key('analyst'));
    expect(res.statusCode).toBe(200);
    const codes = res.json().items.map((p: { code: string; description: string }) => p.code);
    expect(codes).toEqual(expect.arrayContaining(['eligibility', 'cash_transfer', 'contact', 'research']));
    expect(res.json().items.every((p: { description: string }) => p.description.length > 10)).toBe(true);
    expect((await call('GET', '/api/v1/consent/purposes', undefined)).statusCode).toBe(401);
    // The docs list them too.
    const chapter = readFileSync(new URL('../../docs/consent.md', import.meta.url), 'utf8');
    for (const code of codes) {
      expect(chapter).toContain(`| \`${code}\``);
    }
  });

  it('answers a consent-only client on the demo data with exactly the persons who consented', async () => {
    const [item] = await search(
      withPurpose(predicate('Member', ['birth_year', 'ge', '1900']), 'cash_transfer'),
    );
    const { rows } = await sql<{ id: string }>`select individual_id as id from consents
      where purpose = 'cash_transfer' and withdrawn_at is null`.execute(t.database.db);
    expect(rows.length).toBeGreaterThan(10);
    expect(item!.pagination!.total_count).toBe(rows.length);
    const audit = await call('GET', `/api/v1/audit?client_id=${clients.mis.id}&limit=1`, t.adminKey);
    expect([...audit.json().items[0].subject_ids].sort()).toEqual(rows.map((r) => r.id).sort());
  });

  it('records, lists and withdraws a consent; the search follows at once and the history stays', async () => {
    const person = await personWithout('cash_transfer');
    const byUin = withPurpose(idType('Member', 'UIN', person.uin), 'cash_transfer');
    expect((await search(byUin))[0]!.pagination!.total_count).toBe(0);

    const given = await call('POST', `/api/v1/individuals/${person.id}/consents`, key('agent'), {
      purpose: 'cash_transfer',
      channel: 'paper',
      evidence_ref: 'FORM-2026-0042',
      given_at: '2026-12-01T09:30:00Z',
    });
    expect(given.statusCode, given.body).toBe(201);
    expect(given.json()).toMatchObject({
      person_id: person.id,
      purpose: 'cash_transfer',
      status: 'given',
      given: { at: '2026-12-01T09:30:00.000Z', channel: 'paper', evidence_ref: 'FORM-2026-0042' },
      withdrawn: null,
    });
    expect(given.json().given.recorded_by).toBe(clients.agent.name);
    expect((await search(byUin))[0]!.pagination!.total_count).toBe(1);
    const again = await call('POST', `/api/v1/individuals/${person.id}/consents`, key('caseSystem'), {
      purpose: 'cash_transfer',
      channel: 'in_person',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toContain(given.json().id);

    const withdrawal = `/api/v1/individuals/${person.id}/consents/cash_transfer/withdrawal`;
    const withdrawn = await call('POST', withdrawal, key('caseSystem'), { channel: 'phone' });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    expect(withdrawn.json()).toMatchObject({
      id: given.json().id,
      status: 'withdrawn',
      withdrawn: { channel: 'phone', evidence_ref: null, recorded_by: clients.caseSystem.name },
    });
    expect((await search(byUin))[0]!.pagination!.total_count).toBe(0);
    expect((await call('POST', withdrawal, key('caseSystem'), { channel: 'phone' })).statusCode).toBe(404);

    const renewed = await call('POST', `/api/v1/individuals/${person.id}/consents`, key('agent'), {
      purpose: 'cash_transfer',
      channel: 'in_person',
    });
    expect(renewed.statusCode).toBe(201);
    const list = await consentsOf(person.id);
    expect(list.statusCode).toBe(200);
    const cash = list.json().items.filter((c: { purpose: string }) => c.purpose === 'cash_transfer');
    expect(cash.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      [renewed.json().id, 'given'],
      [given.json().id, 'withdrawn'],
    ]);
    // Kept as evidence: the database refuses to delete a record or reopen a withdrawn one.
    const db = t.database.db;
    await expect(sql`delete from consents where id = ${given.json().id}`.execute(db)).rejects.toThrow(/kept/);
    await expect(
      sql`update consents set withdrawn_at = null where id = ${given.json().id}`.execute(db),
    ).rejects.toThrow(/withdrawn, once/);

    const audit = await call('GET', `/api/v1/audit?subject_id=${person.id}`, t.adminKey);
    const actions = audit.json().items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['consent.record', 'consent.withdraw', 'consent.list']));
  });

  it('refuses bad input, naming the field and the fix', async () => {
    const person = await personWithout('research');
    const record = (body: object, id = person.id) =>
      call('POST', `/api/v1/individuals/${id}/consents`, key('agent'), body);
    const unknownPurpose = await record({ purpose: 'cash-transfer', channel: 'paper' });
    expect(unknownPurpose.statusCode).toBe(400);
    expect(unknownPurpose.json().errors).toEqual([
      { pointer: '/purpose', detail: expect.stringContaining('must be one of: eligibility, cash_transfer') },
    ]);
    expect((await record({ purpose: 'research', channel: 'paper' }, randomUUID())).statusCode).toBe(404);
    const malformedId = await record({ purpose: 'research', channel: 'paper' }, 'not-a-uuid');
    expect(malformedId.json().errors[0].pointer).toBe('id');
    for (const [body, pointer] of [
      [{ purpose: 'research' }, '/channel'],
      [{ purpose: 'research', channel: 'fax' }, '/channel'],
      [{ purpose: 'research', channel: 'paper', who: 'x' }, '/who'],
      [{ purpose: 'research', channel: 'paper', evidence_ref: '' }, '/evidence_ref'],
      [{ purpose: 'research', channel: 'paper', given_at: 'yesterday' }, '/given_at'],
      [{ purpose: 'research', channel: 'paper', given_at: '2999-01-01T00:00:00Z' }, '/given_at'],
    ] as const) {
      const res = await record(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
    const badWithdrawal = await call(
      'POST',
      `/api/v1/individuals/${person.id}/consents/cash-transfer/withdrawal`,
      key('agent'),
      { channel: 'phone' },
    );
    expect(badWithdrawal.json().errors[0].pointer).toBe('purpose');
    await sql`update individuals set is_deceased = true where id = ${person.id}`.execute(t.database.db);
    expect((await record({ purpose: 'research', channel: 'paper' })).statusCode).toBe(409);
    await sql`update individuals set is_deceased = false where id = ${person.id}`.execute(t.database.db);
    expect((await consentsOf(person.id)).json().items).not.toContainEqual(
      expect.objectContaining({ purpose: 'research', status: 'given' }),
    );
    // A consent-only client stating a purpose nobody can consent to learns the list, not an empty answer.
    const [item] = await search(withPurpose(idType('Member', 'UIN', 'x'), 'cash-transfer'));
    expect(item).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.search_criteria.invalid',
      status_reason_message: expect.stringContaining('one of eligibility, cash_transfer'),
    });
  });

  it("keeps who consented to what from readers without consent:manage, and outside the caller's areas", async () => {
    const person = await personWithout('contact');
    const routes = [
      ['GET', `/api/v1/individuals/${person.id}/consents`, undefined],
      ['POST', `/api/v1/individuals/${person.id}/consents`, { purpose: 'contact', channel: 'phone' }],
      ['POST', `/api/v1/individuals/${person.id}/consents/contact/withdrawal`, { channel: 'phone' }],
    ] as const;
    const narrowed = await client('field_agent', ['registry:read', 'field:submit']);
    const elsewhere = await client('field_agent');
    await insertArea(t.database.db, 'Z99');
    const policy = await call('PUT', `/api/v1/clients/${elsewhere.id}/policy`, t.adminKey, {
      agreement_ref: 'DSA-TEST',
      area_codes: ['Z99'],
    });
    expect(policy.statusCode, policy.body).toBe(200);
    for (const [method, url, body] of routes) {
      for (const caller of [key('analyst'), key('mis'), narrowed.key]) {
        expect((await call(method, url, caller, body)).statusCode, `${method} ${url}`).toBe(403);
      }
      expect((await call(method, url, elsewhere.key, body)).statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await consentsOf(person.id, t.adminKey)).json().items).not.toContainEqual(
      expect.objectContaining({ purpose: 'contact', status: 'given' }),
    );
  });

  it('records the consents members give on the ODK form when the submission is applied', async () => {
    const { rows } = await sql<{
      code: string;
    }>`select code from admin_areas where level = 3 limit 1`.execute(t.database.db);
    const village = rows[0]!.code;
    const member = (given_name: string, relationship: string, birth_date: string, consents?: string) => ({
      given_name,
      family_name: 'Konde',
      sex: 'female',
      birth_date,
      relationship,
      ...(consents ? { consents } : {}),
    });
    const { xml, instanceId } = householdInstance({
      admin_area: village,
      members: [
        member('Zawadi', 'SELF', '1985-02-02', 'eligibility contact'),
        member('Imani', 'CHILD', '2015-05-05'),
      ],
    });
    expect((await submit(t, key('agent'), xml)).statusCode).toBe(201);
    const people = await t.database.db
      .selectFrom('individuals')
      .select(['id', 'given_name'])
      .where('family_name', '=', 'Konde')
      .execute();
    const zawadi = people.find((p) => p.given_name === 'Zawadi')!;
    const imani = people.find((p) => p.given_name === 'Imani')!;
    const recorded = (await consentsOf(zawadi.id)).json().items;
    expect(recorded.map((c: { purpose: string }) => c.purpose).sort()).toEqual(['contact', 'eligibility']);
    expect(recorded[0]).toMatchObject({
      status: 'given',
      given: { channel: 'odk', evidence_ref: `odk:${instanceId}`, recorded_by: clients.agent.name },
    });
    expect((await consentsOf(imani.id)).json().items).toEqual([]);

    const unknown = householdInstance({
      admin_area: village,
      members: [member('Rehema', 'SELF', '1980-01-01', 'eligibility marketing')],
    });
    expect((await submit(t, key('agent'), unknown.xml)).statusCode).toBe(201);
    const { rows: requests } = await sql<{ status: string; issues: { pointer: string; detail: string }[] }>`
      select status, issues from change_requests where source = ${`odk:${unknown.instanceId}`}`.execute(
      t.database.db,
    );
    expect(requests[0]).toMatchObject({
      status: 'rejected',
      issues: [
        { pointer: '/members/0/consents', detail: expect.stringContaining('"marketing" is not a purpose') },
      ],
    });
  });

  it("keeps the shipped mapping in step with the shipped form, and an admin's own mapping as it is", async () => {
    const db = t.database.db;
    const form = 'spx_household_registration';
    const shipped = (await currentMapping(db, form))!.mapping;
    const { consents: _, ...olderMembers } = shipped.members;
    await saveMapping(db, form, { ...shipped, members: olderMembers }, 'review', 'sp-exchange');
    await installShippedForm(db);
    expect(await currentMapping(db, form)).toMatchObject({ mapping: shipped, review_mode: 'review' });
    await saveMapping(db, form, { ...shipped, members: olderMembers }, 'auto', 'an-admin');
    await installShippedForm(db);
    expect((await currentMapping(db, form))!.mapping.members.consents).toBeUndefined();
  });
});
