import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import {
  insertArea,
  insertEnrollment,
  insertHousehold,
  insertIndividual,
  insertProgram,
} from '#test/factories';
import { newClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';

/** The multi-program beneficiary view and the program-level view (IBR-030). */

type View = {
  subject: { type: string; id: string; household_id: string };
  summary: { programs: number; active: number; active_programs: string[]; last_payment_at: string | null };
  programs: { program: { code: string }; enrollment: Record<string, unknown> }[];
  members: { id: string; programs: { code: string; status: string }[] }[];
};

let t: TestApp;
let household: string;
let head: string;
let child: string;
let otherHousehold: string;

const view = (query: string, key = t.adminKey) => t.get(`/api/v1/ibr/participation?${query}`, key);

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  household = await insertHousehold(db);
  head = await insertIndividual(db, household, { phone: '+255700000001' }, [
    { type: 'UIN', value: 'NID-IBR-1' },
  ]);
  child = await insertIndividual(
    db,
    household,
    { relationship_to_head: 'CHILD', given_name: 'Juma', phone: null },
    [],
  );
  await insertArea(db, 'R09');
  await insertArea(db, 'R09-D01', 'R09');
  otherHousehold = await insertHousehold(db, { admin_area_code: 'R09-D01' });
  await insertIndividual(db, otherHousehold, { phone: '+255700000009' }, [
    { type: 'UIN', value: 'NID-SHARED' },
  ]);
  await insertIndividual(db, household, { relationship_to_head: 'SPS', phone: '+255700000002' }, [
    { type: 'UIN', value: 'NID-SHARED' },
  ]);
  const cct = await insertProgram(db, { code: 'CCT-IBR', name: 'Conditional cash transfer' });
  const pension = await insertProgram(db, {
    code: 'PEN-IBR',
    name: 'Social pension',
    target_unit: 'individual',
  });
  const school = await insertProgram(db, {
    code: 'SCH-IBR',
    name: 'School feeding',
    target_unit: 'individual',
    benefit_type: 'in_kind',
  });
  await insertEnrollment(
    db,
    cct,
    { household_id: household },
    {
      program_beneficiary_id: 'CCT-000123',
      payment_account: '0712345678',
      last_payment_at: '2026-10-31',
    },
  );
  await insertEnrollment(
    db,
    pension,
    { individual_id: head },
    { status: 'suspended', status_reason: 'missed verification', last_payment_at: '2026-08-31' },
  );
  await insertEnrollment(
    db,
    school,
    { individual_id: child },
    { payment_account: null, payment_method: null },
  );
  await insertEnrollment(db, cct, { household_id: otherHousehold });
});
afterAll(() => t.close());

describe('multi-program beneficiary view', () => {
  it("shows a person's programs, their household's, history and last payment, and the members'", async () => {
    const res = await view(`person_id=${head}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<View>();
    expect(body.subject).toEqual({ type: 'individual', id: head, household_id: household });
    expect(body.programs.map((p) => p.program.code).sort()).toEqual(['CCT-IBR', 'PEN-IBR']);
    expect(body.summary).toEqual({
      programs: 2,
      active: 1,
      active_programs: ['CCT-IBR'],
      last_payment_at: '2026-10-31',
    });
    const pension = body.programs.find((p) => p.program.code === 'PEN-IBR')!.enrollment;
    expect(pension).toMatchObject({ status: 'suspended', status_reason: 'missed verification' });
    expect(pension['history']).toEqual([expect.objectContaining({ to_status: 'enrolled' })]);
    const members = Object.fromEntries(body.members.map((m) => [m.id, m.programs.map((p) => p.code)]));
    expect(members[child]).toEqual(['SCH-IBR']);
    expect(members[head]).toEqual(['PEN-IBR']);
  });

  it.each([
    ['the national ID', 'identifier_type=UIN&identifier_value=NID-IBR-1'],
    ['the phone number', 'phone=%2B255700000001'],
  ])('finds the person by %s', async (_what, query) => {
    const res = await view(query);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<View>().subject.id).toBe(head);
  });

  it('finds a household by its program beneficiary id, with every member program', async () => {
    const res = await view('program_beneficiary_id=CCT-000123');
    const body = res.json<View>();
    expect(body.subject).toEqual({ type: 'household', id: household, household_id: household });
    expect(body.programs.map((p) => p.program.code).sort()).toEqual(['CCT-IBR', 'PEN-IBR', 'SCH-IBR']);
  });

  it('shows payment accounts to whom the policy allows, masked to others', async () => {
    const full = (await view(`household_id=${household}`)).json<View>();
    const cct = (v: View) => v.programs.find((p) => p.program.code === 'CCT-IBR')!.enrollment;
    expect(cct(full)).toMatchObject({ payment_account: '0712345678', payment_account_masked: false });
    const integrator = await t.keyFor('integrator');
    const masked = (await view(`household_id=${household}`, integrator)).json<View>();
    expect(cct(masked)).toMatchObject({ payment_account: '******5678', payment_account_masked: true });
    const school = masked.programs.find((p) => p.program.code === 'SCH-IBR')!.enrollment;
    expect(school).toMatchObject({ payment_account: null, payment_account_masked: false });
  });

  it('gives de-identified callers no part of a payment account, not even masked', async () => {
    const analyst = await t.keyFor('analyst');
    const res = await view(`household_id=${household}`, analyst);
    expect(res.statusCode).toBe(200);
    const cct = res.json<View>().programs.find((p) => p.program.code === 'CCT-IBR')!.enrollment;
    expect(cct).toMatchObject({ payment_account: null, payment_account_masked: false });
    expect(res.body).not.toContain('5678');
  });

  it("keeps to the caller's areas, and audits the records shown", async () => {
    const scoped = await newClient(t, 'integrator');
    await setPolicy(t, scoped.id, { area_codes: ['R09'] });
    expect((await view(`person_id=${head}`, scoped.key)).statusCode).toBe(404);
    // The shared national ID: only the holder inside the client's areas.
    const shared = await view('identifier_type=UIN&identifier_value=NID-SHARED', scoped.key);
    expect(shared.statusCode, shared.body).toBe(200);
    expect(shared.json<View>().subject.household_id).toBe(otherHousehold);
    const audit = await t.get(
      `/api/v1/audit?client_id=${scoped.id}&action=ibr.participation.read`,
      t.adminKey,
    );
    expect(audit.json<{ items: { outcome: string }[] }>().items.map((e) => e.outcome)).toEqual([
      'success',
      'invalid',
    ]);
  });

  it('refuses an identifier several records hold, naming them', async () => {
    const res = await view('identifier_type=UIN&identifier_value=NID-SHARED');
    expect(res.statusCode).toBe(409);
    expect(res.json<{ detail: string }>().detail).toMatch(/belongs to 2 records/);
  });

  it.each([
    ['no subject', ''],
    ['two subjects', `person_id=${'0'.repeat(8)}-0000-4000-8000-000000000000&phone=%2B255700000001`],
    ['an identifier type without a value', 'identifier_type=UIN'],
    ['a malformed id', 'person_id=42'],
    ['an unknown parameter', 'name=Amina'],
  ])('refuses %s with a clear 400', async (_what, query) => {
    const res = await view(query);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('answers 404 for nobody', async () => {
    expect((await view('identifier_type=UIN&identifier_value=NOBODY')).statusCode).toBe(404);
    expect((await view('person_id=00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
  });
});

describe('program-level view', () => {
  it("counts beneficiaries by status and area, within the caller's areas", async () => {
    const res = await t.get('/api/v1/ibr/programs/CCT-IBR/summary?level=2', t.adminKey);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      program: { code: 'CCT-IBR' },
      total: 2,
      by_status: { enrolled: 2 },
      by_area: [
        { admin_area_code: 'R01-D01', status: 'enrolled', beneficiaries: 1, benefit_amount: 40000 },
        { admin_area_code: 'R09-D01', status: 'enrolled', beneficiaries: 1 },
      ],
    });
    const byRegion = (await t.get('/api/v1/ibr/programs/PEN-IBR/summary', t.adminKey)).json();
    expect(byRegion).toMatchObject({
      total: 1,
      by_status: { suspended: 1 },
      by_area: [{ admin_area_code: 'R01' }],
    });
    const scoped = await newClient(t, 'integrator');
    await setPolicy(t, scoped.id, { area_codes: ['R09'] });
    expect((await t.get('/api/v1/ibr/programs/CCT-IBR/summary', scoped.key)).json()).toMatchObject({
      total: 1,
    });
  });

  it('answers 404 for an unknown program and 400 for a bad level', async () => {
    expect((await t.get('/api/v1/ibr/programs/NOPE/summary', t.adminKey)).statusCode).toBe(404);
    expect((await t.get('/api/v1/ibr/programs/CCT-IBR/summary?level=9', t.adminKey)).statusCode).toBe(400);
  });
});
