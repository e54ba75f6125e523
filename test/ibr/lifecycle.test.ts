import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual, insertProgram } from '#test/factories';

/** Enrollment lifecycle, exclusivity and benefit caps (issue 7, scope 2), through the API. */

interface Enrollment {
  id: string;
  status: string;
  status_reason: string | null;
  program: { code: string };
  history: { from_status: string | null; to_status: string; reason: string | null }[];
}

let t: TestApp;
let household: string;
let head: string;
let spouse: string;

const post = (url: string, payload: unknown, key = t.adminKey) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${key}` },
    payload: payload as object,
  });
const enroll = (
  program: string,
  beneficiary: { type: string; id: string },
  extra: Record<string, unknown> = {},
) => post('/api/v1/ibr/enrollments', { program, beneficiary, reason: 'assessed eligible', ...extra });
const act = (id: string, action: string, reason = 'case review') =>
  post(`/api/v1/ibr/enrollments/${id}/transitions`, { action, reason });
const count = async () =>
  Number(
    (await t.database.db
      .selectFrom('enrollments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst())!.n,
  );

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  household = await insertHousehold(db);
  head = await insertIndividual(db, household);
  spouse = await insertIndividual(db, household, { relationship_to_head: 'SPS' });
  await insertProgram(db, {
    code: 'CCT',
    target_unit: 'household',
    benefit_frequency: 'monthly',
    exclusion_groups: ['cash'],
  });
  await insertProgram(db, {
    code: 'UCT',
    target_unit: 'household',
    benefit_frequency: 'monthly',
    exclusion_groups: ['cash'],
  });
  await insertProgram(db, { code: 'PEN', target_unit: 'individual', benefit_frequency: 'monthly' });
  await insertProgram(db, { code: 'DIS', target_unit: 'individual', benefit_frequency: 'quarterly' });
  await insertProgram(db, { code: 'OLD', target_unit: 'household', active: false });
});
afterAll(() => t.close());

describe('enrollment lifecycle', () => {
  let cct: Enrollment;

  it('enrolls with a reason in the history, and audits it', async () => {
    const res = await enroll('CCT', { type: 'household', id: household }, { benefit_amount: 40000 });
    expect(res.statusCode, res.body).toBe(201);
    cct = res.json<Enrollment>();
    expect(cct).toMatchObject({ status: 'enrolled', program: { code: 'CCT' } });
    expect(cct.history).toEqual([
      expect.objectContaining({ from_status: null, to_status: 'enrolled', reason: 'assessed eligible' }),
    ]);
    const audit = await t.get('/api/v1/audit?action=ibr.enrollment.create', t.adminKey);
    expect(audit.json<{ items: { resource_id: string }[] }>().items[0]!.resource_id).toBe(cct.id);
  });

  it('suspends, resumes, graduates, each step in the history', async () => {
    expect((await act(cct.id, 'suspend', 'missed verification')).json()).toMatchObject({
      status: 'suspended',
      status_reason: 'missed verification',
    });
    expect((await act(cct.id, 'resume', 'verified')).json()).toMatchObject({ status: 'enrolled' });
    const graduated = (await act(cct.id, 'graduate', 'income above threshold')).json<Enrollment>();
    expect(graduated.status).toBe('graduated');
    expect(graduated.history.map((h) => [h.from_status, h.to_status, h.reason])).toEqual([
      [null, 'enrolled', 'assessed eligible'],
      ['enrolled', 'suspended', 'missed verification'],
      ['suspended', 'enrolled', 'verified'],
      ['enrolled', 'graduated', 'income above threshold'],
    ]);
  });

  it.each([
    ['resume', /cannot resume an enrollment that is graduated/],
    ['suspend', /cannot suspend an enrollment that is graduated/],
    ['exit', /cannot exit an enrollment that is graduated \(allowed from enrolled or suspended\)/],
  ])('refuses to %s an enrollment that ended', async (action, message) => {
    const res = await act(cct.id, action);
    expect(res.statusCode).toBe(409);
    expect(res.json<{ detail: string }>().detail).toMatch(message);
  });

  it('refuses a second place in a program, and one in a mutually exclusive program, naming the enrollment', async () => {
    const first = (await enroll('CCT', { type: 'household', id: household })).json<Enrollment>();
    const again = await enroll('CCT', { type: 'household', id: household });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ detail: string }>().detail).toContain(
      `is already in CCT: enrollment ${first.id} (enrolled)`,
    );
    const before = await count();
    const exclusive = await enroll('UCT', { type: 'household', id: household });
    expect(exclusive.statusCode).toBe(409);
    expect(exclusive.json<{ detail: string }>().detail).toBe(
      `UCT and CCT are mutually exclusive (group cash): household ${household} holds enrollment ${first.id} (enrolled)`,
    );
    expect(await count()).toBe(before);
    // A suspended place still holds: resuming is checked again.
    await act(first.id, 'exit', 'moved away');
  });

  it('lets only one of two racing enrollments in exclusive programs through', async () => {
    const other = await insertHousehold(t.database.db);
    const results = await Promise.all([
      enroll('CCT', { type: 'household', id: other }),
      enroll('UCT', { type: 'household', id: other }),
      enroll('CCT', { type: 'household', id: other }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
  });

  it('transfers from one program to another in one step, or not at all', async () => {
    const from = (
      await enroll('CCT', { type: 'household', id: household }, { benefit_amount: 30000 })
    ).json<Enrollment>();
    const moved = await post(`/api/v1/ibr/enrollments/${from.id}/transfer`, {
      program: 'UCT',
      reason: 'program merger',
      benefit_amount: 35000,
    });
    expect(moved.statusCode, moved.body).toBe(201);
    expect(moved.json<Enrollment>()).toMatchObject({
      status: 'enrolled',
      program: { code: 'UCT' },
      status_reason: `transferred from enrollment ${from.id}: program merger`,
    });
    const old = (await t.get(`/api/v1/ibr/participation?household_id=${household}`, t.adminKey)).json<{
      programs: { enrollment: Enrollment }[];
    }>();
    const exited = old.programs.find((p) => p.enrollment.id === from.id)!.enrollment;
    expect(exited).toMatchObject({ status: 'exited', status_reason: 'transferred to UCT: program merger' });

    // Into a closed program: refused, and the source keeps its place.
    const target = moved.json<Enrollment>();
    const refused = await post(`/api/v1/ibr/enrollments/${target.id}/transfer`, {
      program: 'OLD',
      reason: 'try',
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toBe('program OLD is closed to new enrollments');
    const after = (await t.get(`/api/v1/ibr/participation?household_id=${household}`, t.adminKey)).json<{
      programs: { enrollment: Enrollment }[];
    }>();
    expect(after.programs.find((p) => p.enrollment.id === target.id)!.enrollment.status).toBe('enrolled');
    await act(target.id, 'exit', 'done');
  });
});

describe('benefit cap per household', () => {
  it('refuses an enrollment or a resumption that would pass the monthly cap across programs', async () => {
    const cap = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/ibr/benefit-caps/TZS',
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: { monthly_cap: 100000 },
    });
    expect(cap.statusCode, cap.body).toBe(200);
    const pension = (
      await enroll('PEN', { type: 'individual', id: head }, { benefit_amount: 60000 })
    ).json<Enrollment>();
    // Quarterly 90,000 is 30,000 a month: 90,000 in all, under the cap.
    const disability = await enroll('DIS', { type: 'individual', id: spouse }, { benefit_amount: 90000 });
    expect(disability.statusCode, disability.body).toBe(201);
    const over = await enroll('CCT', { type: 'household', id: household }, { benefit_amount: 20000 });
    expect(over.statusCode).toBe(409);
    expect(over.json<{ detail: string }>().detail).toMatch(
      /would receive 110000\.00 TZS a month across programs, above the cap of 100000\.00/,
    );
    expect(over.json<{ detail: string }>().detail).toContain(`PEN enrollment ${pension.id}`);

    await act(pension.id, 'suspend', 'pause');
    expect(
      (await enroll('CCT', { type: 'household', id: household }, { benefit_amount: 5000 })).statusCode,
    ).toBe(201);
    // Suspended places still count: 60,000 + 30,000 + 5,000.
    expect((await act(pension.id, 'resume', 'back')).statusCode).toBe(200);
    const list = await t.get('/api/v1/ibr/benefit-caps', t.adminKey);
    expect(list.json()).toMatchObject({ items: [{ currency: 'TZS', monthly_cap: 100000 }] });
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: '/api/v1/ibr/benefit-caps/TZS',
          headers: { authorization: `Bearer ${t.adminKey}` },
        })
      ).statusCode,
    ).toBe(204);
  });
});

describe('refusals', () => {
  it.each([
    [{ program: 'PEN', beneficiary: { type: 'household', id: '00000000-0000-4000-8000-000000000000' } }, 404],
    [
      { program: 'NOPE', beneficiary: { type: 'individual', id: '00000000-0000-4000-8000-000000000000' } },
      404,
    ],
    [{ program: 'PEN', beneficiary: { type: 'pet', id: '00000000-0000-4000-8000-000000000000' } }, 400],
    [{ program: 'PEN' }, 400],
    [{ program: 'PEN', beneficiary: { type: 'individual', id: 'x' } }, 400],
  ])('refuses %j with %i', async (body, status) => {
    const res = await post('/api/v1/ibr/enrollments', body);
    expect(res.statusCode, res.body).toBe(status);
  });

  it('refuses a household program for a person, naming the unit', async () => {
    const res = await enroll('UCT', { type: 'individual', id: head });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      detail: 'UCT enrolls households, not individuals',
      errors: [{ pointer: '/beneficiary/type' }],
    });
  });

  it('refuses an unknown action or enrollment, and callers without registry:write', async () => {
    expect(
      (
        await post('/api/v1/ibr/enrollments/00000000-0000-4000-8000-000000000000/transitions', {
          action: 'exit',
          reason: 'x',
        })
      ).statusCode,
    ).toBe(404);
    const [any] = await t.database.db.selectFrom('enrollments').select('id').limit(1).execute();
    expect(
      (await post(`/api/v1/ibr/enrollments/${any!.id}/transitions`, { action: 'pause', reason: 'x' }))
        .statusCode,
    ).toBe(400);
    expect(
      (await post(`/api/v1/ibr/enrollments/${any!.id}/transitions`, { action: 'exit' })).statusCode,
    ).toBe(400);
    const integrator = await t.keyFor('integrator');
    expect(
      (
        await post(
          '/api/v1/ibr/enrollments',
          { program: 'PEN', beneficiary: { type: 'individual', id: head } },
          integrator,
        )
      ).statusCode,
    ).toBe(403);
  });
});
