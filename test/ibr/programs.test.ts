import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold } from '#test/factories';

/** Program definitions through the API: create, change exclusion groups, close; bad input. */

let t: TestApp;
let household: string;

const send = (method: 'POST' | 'PATCH', url: string, payload: unknown, key = t.adminKey) =>
  t.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
const enroll = (program: string) =>
  send('POST', '/api/v1/ibr/enrollments', {
    program,
    beneficiary: { type: 'household', id: household },
    reason: 'assessed eligible',
  });
const programCount = async () =>
  Number(
    (await t.database.db
      .selectFrom('programs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst())!.n,
  );

beforeAll(async () => {
  t = await createTestApp();
  household = await insertHousehold(t.database.db);
});
afterAll(() => t.close());

describe('program definitions', () => {
  it('defines programs, listed with the others and audited', async () => {
    const res = await send('POST', '/api/v1/ibr/programs', {
      code: 'CASH-A',
      name: 'Cash A',
      benefit_type: 'cash',
      target_unit: 'household',
      benefit_frequency: 'monthly',
      currency: 'TZS',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      code: 'CASH-A',
      exclusion_groups: [],
      active: true,
      description: null,
    });
    await send('POST', '/api/v1/ibr/programs', {
      code: 'CASH-B',
      name: 'Cash B',
      benefit_type: 'cash',
      target_unit: 'household',
    });
    const list = await t.get('/api/v1/programs', t.adminKey);
    expect(list.json<{ items: { code: string }[] }>().items.map((p) => p.code)).toEqual(
      expect.arrayContaining(['CASH-A', 'CASH-B']),
    );
    const audit = await t.get('/api/v1/audit?action=program.create', t.adminKey);
    expect(audit.json<{ items: { resource_id: string }[] }>().items.map((e) => e.resource_id)).toEqual(
      expect.arrayContaining(['CASH-A', 'CASH-B']),
    );
  });

  it('makes two programs mutually exclusive by a shared exclusion group', async () => {
    expect((await enroll('CASH-A')).statusCode).toBe(201);
    const changed = await send('PATCH', '/api/v1/ibr/programs/CASH-B', { exclusion_groups: ['cash'] });
    expect(changed.json()).toMatchObject({ exclusion_groups: ['cash'] });
    await send('PATCH', '/api/v1/ibr/programs/CASH-A', { exclusion_groups: ['cash'] });
    const refused = await enroll('CASH-B');
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toMatch(
      /CASH-B and CASH-A are mutually exclusive \(group cash\): household .* holds enrollment/,
    );
  });

  it('closes a program to new enrollments', async () => {
    await send('PATCH', '/api/v1/ibr/programs/CASH-B', { active: false, exclusion_groups: [] });
    const res = await enroll('CASH-B');
    expect(res.statusCode).toBe(409);
    expect(res.json<{ detail: string }>().detail).toBe('program CASH-B is closed to new enrollments');
  });

  it('refuses duplicates, unknown programs, bad input and callers who may not manage', async () => {
    const before = await programCount();
    const duplicate = await send('POST', '/api/v1/ibr/programs', {
      code: 'CASH-A',
      name: 'Again',
      benefit_type: 'cash',
      target_unit: 'household',
    });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json<{ detail: string }>().detail).toBe('a program with code CASH-A already exists');
    for (const bad of [
      { code: 'X', name: 'X', benefit_type: 'cash' },
      { code: 'has space', name: 'X', benefit_type: 'cash', target_unit: 'household' },
      { code: 'Y', name: 'Y', benefit_type: 'gold', target_unit: 'household' },
      { code: 'Y', name: 'Y', benefit_type: 'cash', target_unit: 'household', exclusion_groups: ['A B'] },
      { code: 'Y', name: 'Y', benefit_type: 'cash', target_unit: 'household', currency: 'tzs' },
    ]) {
      expect((await send('POST', '/api/v1/ibr/programs', bad)).statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await send('PATCH', '/api/v1/ibr/programs/CASH-A', {})).statusCode).toBe(400);
    expect(
      (await send('PATCH', '/api/v1/ibr/programs/CASH-A', { target_unit: 'individual' })).statusCode,
    ).toBe(400);
    expect((await send('PATCH', '/api/v1/ibr/programs/NOPE', { active: false })).statusCode).toBe(404);
    const integrator = await t.keyFor('system');
    expect(
      (await send('PATCH', '/api/v1/ibr/programs/CASH-A', { active: false }, integrator)).statusCode,
    ).toBe(403);
    expect(await programCount()).toBe(before);
  });
});
