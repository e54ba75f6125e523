import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertEnrollment, insertHousehold, insertIndividual, insertProgram } from '#test/factories';

describe('registry read API', () => {
  let t: TestApp;
  let householdId: string;
  let headId: string;
  let childId: string;

  beforeAll(async () => {
    t = await createTestApp();
    const db = t.database.db;
    householdId = await insertHousehold(db);
    headId = await insertIndividual(db, householdId, {}, [{ type: 'UIN', value: 'NID-0001' }]);
    childId = await insertIndividual(
      db,
      householdId,
      { relationship_to_head: 'CHILD', given_name: 'Juma', sex: 'male', birth_date: '2012-09-22' },
      [],
    );
    const cct = await insertProgram(db, { code: 'CCT', name: 'Conditional cash transfer' });
    const pension = await insertProgram(db, {
      code: 'SPEN',
      name: 'Social pension',
      target_unit: 'individual',
    });
    await insertEnrollment(db, cct, { household_id: householdId });
    await insertEnrollment(
      db,
      pension,
      { individual_id: headId },
      { status: 'suspended', status_reason: 'missed verification' },
    );
  });
  afterAll(() => t.close());

  it('returns a household with its members, head first', async () => {
    const res = await t.get(`/api/v1/households/${householdId}`, t.adminKey);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      id: householdId,
      member_count: 2,
      admin_area_code: 'R01-D01',
      pmt_score: 31.5,
    });
    expect(body.members.map((m: { id: string }) => m.id)).toEqual([headId, childId]);
    expect(body.members[0].identifiers).toEqual([{ type: 'UIN', value: 'NID-0001' }]);
  });

  it('returns an individual with identifiers, consent and birth year', async () => {
    const res = await t.get(`/api/v1/individuals/${headId}`, t.adminKey);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: headId,
      given_name: 'Amina',
      birth_date: '1985-05-20',
      birth_year: 1985,
      consent: { data_sharing: true, contact: false },
    });
  });

  it("lists a person's own and household enrollments with history", async () => {
    const res = await t.get(`/api/v1/individuals/${headId}/enrollments`, t.adminKey);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as {
      program: { code: string };
      status: string;
      beneficiary: { type: string };
      history: unknown[];
    }[];
    expect(items.map((e) => [e.program.code, e.beneficiary.type, e.status]).sort()).toEqual([
      ['CCT', 'household', 'enrolled'],
      ['SPEN', 'individual', 'suspended'],
    ]);
    expect(items[0]!.history).toHaveLength(1);
  });

  it('lists programs', async () => {
    const res = await t.get('/api/v1/programs', t.adminKey);
    expect(res.json().items.map((p: { code: string }) => p.code)).toEqual(['CCT', 'SPEN']);
  });

  it('finds an individual by identifier', async () => {
    const res = await t.get('/api/v1/individuals?identifier_type=UIN&identifier_value=NID-0001', t.adminKey);
    expect(res.json().items.map((i: { id: string }) => i.id)).toEqual([headId]);
  });

  it('answers 404 with a problem for an unknown id', async () => {
    const res = await t.get('/api/v1/individuals/00000000-0000-4000-8000-000000000000', t.adminKey);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 404, title: 'Not found' });
  });

  it('rejects a malformed id, limit, cursor or unknown filter with field-level errors', async () => {
    const badId = await t.get('/api/v1/households/not-a-uuid', t.adminKey);
    expect(badId.statusCode).toBe(400);
    expect(badId.json().errors[0].pointer).toBe('id');
    const badLimit = await t.get('/api/v1/individuals?limit=0', t.adminKey);
    expect(badLimit.json().errors[0].pointer).toBe('limit');
    const badCursor = await t.get('/api/v1/individuals?cursor=zzz', t.adminKey);
    expect(badCursor.statusCode).toBe(400);
    const unknown = await t.get('/api/v1/households?colour=red', t.adminKey);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors).toEqual([{ pointer: 'colour', detail: 'is not a known property' }]);
    const half = await t.get('/api/v1/individuals?identifier_type=UIN', t.adminKey);
    expect(half.json().errors[0].pointer).toBe('identifier_value');
  });
});

describe('keyset pagination', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    for (let i = 0; i < 7; i += 1) {
      await insertHousehold(t.database.db, { admin_area_code: i < 5 ? 'R01-D01' : 'R01' });
    }
  });
  afterAll(() => t.close());

  it('walks every household exactly once, page by page', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.get(`/api/v1/households?limit=3${cursor ? `&cursor=${cursor}` : ''}`, t.adminKey);
      const body = res.json<{ items: { id: string }[]; next_cursor: string | null }>();
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((h) => h.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort()).toEqual(seen);
  });

  it('filters by admin area including the areas below it', async () => {
    const district = await t.get('/api/v1/households?admin_area=R01-D01', t.adminKey);
    expect(district.json().items).toHaveLength(5);
    const region = await t.get('/api/v1/households?admin_area=R01', t.adminKey);
    expect(region.json().items).toHaveLength(7);
  });
});
