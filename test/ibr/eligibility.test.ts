import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertEnrollment, insertHousehold, insertIndividual, insertProgram } from '#test/factories';
import { seedRegistry } from '#registry/seed/load';

/** Real-time eligibility checks with reasons (IBR-036). */

interface Result {
  found: boolean;
  ambiguous?: boolean;
  person_id?: string | null;
  household_id?: string | null;
  enrolled?: { enrollment_id: string; status: string } | null;
  eligible?: boolean;
  criteria?: { passed: string[]; failed: string[] };
  excluded_by?: { program: string; enrollment_id: string }[];
}

let t: TestApp;
let poor: string;
let poorHead: string;
let elder: string;
let rich: string;
let exclusive: string;

const post = (url: string, payload: unknown, key = t.adminKey) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${key}` },
    payload: payload as object,
  });
const check = async (program: string, subjects: unknown[], key?: string) => {
  const res = await post('/api/v1/ibr/eligibility/check', { program, subjects }, key);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ results: Result[] }>().results;
};

const criteria = [
  { name: 'pmt-below-30', applies_to: 'household', expression: { pmt_score: { $lt: 30 } } },
  {
    name: 'has-elder',
    description: 'a member born before 1960',
    applies_to: 'person',
    expression: { birth_date: { $lt: '1960-01-01' } },
  },
];

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  poor = await insertHousehold(db, { pmt_score: 12.5 });
  poorHead = await insertIndividual(db, poor, { birth_date: '1980-02-02' }, [
    { type: 'UIN', value: 'ELIG-1' },
  ]);
  elder = await insertIndividual(db, poor, { relationship_to_head: 'PAR', birth_date: '1950-03-03' }, [
    { type: 'UIN', value: 'ELIG-2' },
  ]);
  rich = await insertHousehold(db, { pmt_score: 70 });
  await insertIndividual(db, rich, { birth_date: '1955-01-01' }, [{ type: 'UIN', value: 'ELIG-DUP' }]);
  await insertIndividual(db, rich, { relationship_to_head: 'SPS', birth_date: '1990-01-01' }, [
    { type: 'UIN', value: 'ELIG-DUP' },
  ]);
  await insertProgram(db, { code: 'CCT-E', target_unit: 'household', exclusion_groups: ['cash'] });
  const uct = await insertProgram(db, {
    code: 'UCT-E',
    target_unit: 'household',
    exclusion_groups: ['cash'],
  });
  exclusive = await insertEnrollment(db, uct, { household_id: rich });
  const res = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/ibr/programs/CCT-E/eligibility',
    headers: { authorization: `Bearer ${t.adminKey}` },
    payload: { criteria },
  });
  expect(res.statusCode, res.body).toBe(200);
});
afterAll(() => t.close());

describe('eligibility checks', () => {
  it('answers each household with the criteria passed and failed, and what excludes it', async () => {
    const [a, b] = await check('CCT-E', [{ household_id: poor }, { household_id: rich }]);
    expect(a).toMatchObject({
      found: true,
      eligible: true,
      enrolled: null,
      excluded_by: [],
      criteria: { passed: ['pmt-below-30', 'has-elder'], failed: [] },
    });
    expect(b).toMatchObject({
      found: true,
      eligible: false,
      criteria: { passed: ['has-elder'], failed: ['pmt-below-30'] },
      excluded_by: [{ program: 'UCT-E', enrollment_id: exclusive }],
    });
  });

  it('checks persons by id or national ID: person criteria on the person, household ones on their household', async () => {
    const [head, old, byId] = await check('CCT-E', [
      { person_id: poorHead },
      { person_id: elder },
      { identifier_type: 'UIN', identifier_value: 'ELIG-2' },
    ]);
    expect(head).toMatchObject({
      person_id: poorHead,
      household_id: poor,
      eligible: false,
      criteria: { failed: ['has-elder'] },
    });
    expect(old).toMatchObject({ person_id: elder, eligible: true });
    expect(byId).toMatchObject({ person_id: elder, eligible: true });
  });

  it('says when a subject is enrolled, unknown, or ambiguous', async () => {
    const cct = await t.database.db
      .selectFrom('programs')
      .select('id')
      .where('code', '=', 'CCT-E')
      .executeTakeFirstOrThrow();
    const place = await insertEnrollment(t.database.db, cct.id, { household_id: poor });
    const [enrolled, unknown, ambiguous] = await check('CCT-E', [
      { household_id: poor },
      { person_id: '00000000-0000-4000-8000-000000000000' },
      { identifier_type: 'UIN', identifier_value: 'ELIG-DUP' },
    ]);
    expect(enrolled).toMatchObject({ enrolled: { enrollment_id: place, status: 'enrolled' } });
    expect(unknown).toEqual({
      subject: { person_id: '00000000-0000-4000-8000-000000000000' },
      found: false,
      ambiguous: false,
    });
    expect(ambiguous).toMatchObject({ found: false, ambiguous: true });
  });

  it('checks 10,000 persons in one request', async () => {
    const seeded = await createTestApp();
    try {
      await seedRegistry(seeded.database, { households: 2200, seed: 5 });
      const ids = await seeded.database.db.selectFrom('individuals').select('id').limit(10_000).execute();
      expect(ids).toHaveLength(10_000);
      await insertProgram(seeded.database.db, { code: 'BIG', target_unit: 'individual' });
      await seeded.app.inject({
        method: 'PUT',
        url: '/api/v1/ibr/programs/BIG/eligibility',
        headers: { authorization: `Bearer ${seeded.adminKey}` },
        payload: { criteria },
      });
      const res = await seeded.app.inject({
        method: 'POST',
        url: '/api/v1/ibr/eligibility/check',
        headers: { authorization: `Bearer ${seeded.adminKey}` },
        payload: { program: 'BIG', subjects: ids.map((i) => ({ person_id: i.id })) },
      });
      expect(res.statusCode).toBe(200);
      const results = res.json<{ results: Result[] }>().results;
      expect(results).toHaveLength(10_000);
      expect(results.every((r) => r.found)).toBe(true);
      const eligible = results.filter((r) => r.eligible).length;
      const expected = await seeded.database.executeSql<{ n: number }>(
        `select count(*)::int as n from individuals i join households h on h.id = i.household_id
         where i.id = any($1::uuid[]) and h.pmt_score < 30 and i.birth_date < '1960-01-01'`,
        [ids.map((i) => i.id)],
      );
      expect(eligible).toBe(expected.rows[0]!.n);
    } finally {
      await seeded.close();
    }
  }, 120_000);

  it("refuses criteria and checks that use fields the caller's role may not see", async () => {
    const analyst = await t.keyFor('analyst');
    const res = await post(
      '/api/v1/ibr/eligibility/check',
      { program: 'CCT-E', subjects: [{ household_id: poor }] },
      analyst,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json<{ detail: string }>().detail).toMatch(/may not search by birth_date/);
  });

  it.each([
    [
      { criteria: [{ name: 'x', applies_to: 'household', expression: { shoe_size: 3 } }] },
      '/criteria/0/expression',
      /unknown attribute "shoe_size"/,
    ],
    [{ criteria: [criteria[0], criteria[0]] }, '/criteria/1/name', /duplicate/],
    [{ criteria: [{ name: 'x', applies_to: 'pet', expression: {} }] }, '/criteria/0/applies_to', /./],
  ])('refuses bad criteria %#, naming them, and keeps the old ones', async (body, pointer, detail) => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/ibr/programs/CCT-E/eligibility',
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(400);
    const error = res
      .json<{ errors: { pointer: string; detail: string }[] }>()
      .errors.find((e) => e.pointer === pointer);
    expect(error?.detail).toMatch(detail);
    const kept = await t.get('/api/v1/ibr/programs/CCT-E/eligibility', t.adminKey);
    expect(kept.json()).toMatchObject({ criteria: [{ name: 'pmt-below-30' }, { name: 'has-elder' }] });
  });

  it.each([
    [{ program: 'CCT-E', subjects: [] }, 400],
    [{ program: 'CCT-E', subjects: [{ person_id: 'x' }] }, 400],
    [{ program: 'CCT-E', subjects: [{ name: 'Amina' }] }, 400],
    [{ program: 'NOPE', subjects: [{ household_id: '00000000-0000-4000-8000-000000000000' }] }, 404],
  ])('refuses a bad check %j', async (body, status) => {
    expect((await post('/api/v1/ibr/eligibility/check', body)).statusCode).toBe(status);
  });

  it('refuses more than 10,000 subjects', async () => {
    const subjects = Array.from({ length: 10_001 }, () => ({ household_id: poor }));
    expect((await post('/api/v1/ibr/eligibility/check', { program: 'CCT-E', subjects })).statusCode).toBe(
      400,
    );
  });
});
