import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { insertProgram } from '#test/factories';
import { seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, example, type DciTestApp } from './harness.ts';

const UPDATES = { registry: 'ibr' as const, path: '/registry/sync/enrollment/updates' };

// Tests read arbitrary DCI JSON by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** The spec's own example (a programme reporting a beneficiary), with fresh ids and these beneficiaries. */
function report(...beneficiaries: Json[]): Json {
  const message = example<Json>('ibr-sync-enrollment-updates-request');
  message['message'].transaction_id = `txn-${randomBytes(4).toString('hex')}`;
  if (beneficiaries.length > 0) {
    message['message'].enrolled_updates.beneficiaries = beneficiaries;
  }
  return message;
}

const beneficiary = (uin: string, programme: string, status = '1', date = '2025-01-10T00:00:00Z') => ({
  assistance_unit: '1',
  member: { member_identifier: [{ identifier_type: 'UIN', identifier_value: uin }] },
  programme_identifier: [{ programme_identifier: programme }],
  enrollment_date: date,
  enrollment_status: status,
  benefits: [{ benefit_type: '1', benefit_value: '50.00' }],
});

describe('DCI IBR enrollment/updates: a programme system reporting its beneficiaries', () => {
  let t: DciTestApp;
  let registry: Registry6;
  let programme: string;

  beforeAll(async () => {
    t = await createDciApp();
    registry = await seedRegistry(t.database.db);
    await insertProgram(t.database.db, {
      code: 'CT-2025',
      target_unit: 'individual',
      exclusion_groups: ['cash'],
    });
    await insertProgram(t.database.db, { code: 'HH-CASH', target_unit: 'household' });
    await insertProgram(t.database.db, {
      code: 'OTHER-CASH',
      target_unit: 'individual',
      exclusion_groups: ['cash'],
    });
    programme = (await t.clientFor('system')).key;
  });
  afterAll(() => t.close());

  const send = async (message: Json, expected = 200, key = programme) => {
    const res = await t.post(`/dci/ibr${UPDATES.path}`, message, key);
    expect(res.statusCode, res.body).toBe(expected);
    const body = res.json<Json>();
    if (expected === 200) {
      expect(validateResponse(UPDATES, body)).toEqual([]);
    }
    return body;
  };
  const enrollmentsOf = (column: 'individual_id' | 'household_id', id: string) =>
    t.database.db
      .selectFrom('enrollments as e')
      .innerJoin('programs as p', 'p.id', 'e.program_id')
      .select(['e.id', 'p.code', 'e.status', 'e.enrolled_at', 'e.benefit_amount'])
      .where(`e.${column}`, '=', id)
      .orderBy('p.code')
      .execute();
  const historyOf = (enrollmentId: string) =>
    t.database.db
      .selectFrom('enrollment_status_history')
      .select(['from_status', 'to_status', 'reason'])
      .where('enrollment_id', '=', enrollmentId)
      .orderBy('id')
      .execute();

  it('accepts the spec example as it is, and answers a person the registry does not know with rjct', async () => {
    const body = await send(report());
    expect(body['enrolled_response']).toEqual([
      expect.objectContaining({
        status: 'rjct',
        status_reason_message: 'no person of the registry holds the identifiers given',
      }),
    ]);
  });

  it('enrolls a known person, then records a status change with its history', async () => {
    const [created] = (await send(report(beneficiary('UIN-A1', 'CT-2025'))))['enrolled_response'];
    expect(created).toMatchObject({ status: 'succ' });
    const [enrollment] = await enrollmentsOf('individual_id', registry.persons['amina']!);
    expect(enrollment).toMatchObject({
      id: created.reference_id,
      code: 'CT-2025',
      status: 'enrolled',
      enrolled_at: '2025-01-10',
      benefit_amount: 50,
    });

    const [changed] = (await send(report(beneficiary('UIN-A1', 'CT-2025', '4'))))['enrolled_response'];
    expect(changed).toMatchObject({ status: 'succ', reference_id: created.reference_id });
    expect(await historyOf(created.reference_id)).toEqual([
      expect.objectContaining({ from_status: null, to_status: 'enrolled' }),
      expect.objectContaining({ from_status: 'enrolled', to_status: 'suspended' }),
    ]);
    // Reported again unchanged: nothing new in the history.
    await send(report(beneficiary('UIN-A1', 'CT-2025', '4')));
    expect(await historyOf(created.reference_id)).toHaveLength(2);
  });

  it("enrolls the person's household in a household programme", async () => {
    const [item] = (await send(report(beneficiary('UIN-B2', 'HH-CASH'))))['enrolled_response'];
    expect(item).toMatchObject({ status: 'succ' });
    expect(await enrollmentsOf('household_id', registry.households.B)).toEqual([
      expect.objectContaining({ code: 'HH-CASH', status: 'enrolled' }),
    ]);
  });

  it('answers each beneficiary on its own: a programme exclusion clash and bad fields are refused, nothing written', async () => {
    const body = await send(
      report(
        beneficiary('UIN-C1', 'CT-2025'),
        beneficiary('UIN-C1', 'OTHER-CASH'),
        beneficiary('UIN-D1', 'NO-SUCH'),
        beneficiary('UIN-D1', 'CT-2025', '9'),
        beneficiary('UIN-D1', 'CT-2025', '1', 'soon'),
      ),
    );
    expect(body['enrolled_response'].map((i: Json) => [i.status, i.status_reason_message])).toEqual([
      ['succ', undefined],
      ['rjct', 'already enrolled in CT-2025, which excludes this programme'],
      ['rjct', 'no programme NO-SUCH in the registry'],
      ['rjct', expect.stringContaining('enrollment_status 9')],
      ['rjct', 'enrollment_date must be an ISO 8601 date'],
    ]);
    expect((await enrollmentsOf('individual_id', registry.persons['halima']!)).map((e) => e.code)).toEqual([
      'CT-2025',
    ]);
    expect(await enrollmentsOf('individual_id', registry.persons['juma']!)).toEqual([]);
  });

  it('refuses clients that may not write the registry, and empty reports', async () => {
    const reader = await t.keyFor('integrator');
    const refused = await send(report(beneficiary('UIN-E1', 'CT-2025')), 403, reader);
    expect(refused['errors'][0]).toMatchObject({ code: 'err.request.forbidden' });
    expect(await enrollmentsOf('individual_id', registry.persons['said']!)).toEqual([]);
    const empty = report();
    empty['message'].enrolled_updates.beneficiaries = [];
    expect((await send(empty, 400))['errors'][0].code).toBe('err.request.bad');
  });
});
