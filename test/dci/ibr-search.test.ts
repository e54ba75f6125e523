import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEnrollment, insertProgram } from '#test/factories';
import { createDciApp, expression, idType, predicate, searchMessage, type DciTestApp } from './harness.ts';
import { itemsOf, keysDeep, seedRegistry, type ResponseItem } from './fixtures.ts';

describe('DCI IBR sync search: beneficiaries and their enrollments', () => {
  let t: DciTestApp;
  let key: string;

  beforeAll(async () => {
    t = await createDciApp();
    const db = t.database.db;
    const { households, persons } = await seedRegistry(db);
    const cct = await insertProgram(db, { code: 'CCT', name: 'Conditional cash transfer' });
    const pension = await insertProgram(db, {
      code: 'SPEN',
      name: 'Social pension',
      target_unit: 'individual',
      benefit_frequency: 'monthly',
    });
    await insertEnrollment(db, cct, { household_id: households.A }, { program_beneficiary_id: 'CCT-0001' });
    await insertEnrollment(db, cct, { household_id: households.E }, { status: 'graduated' });
    await insertEnrollment(
      db,
      pension,
      { individual_id: persons['halima']! },
      { status: 'suspended', last_payment_at: '2025-01-05' },
    );
    key = await t.keyFor('integrator');
  });
  afterAll(() => t.close());

  const search = async (key: string, ...criteria: Record<string, unknown>[]) =>
    itemsOf(await t.search('ibr', searchMessage(...criteria), key), 'ibr');
  const programmes = (item: ResponseItem | undefined) =>
    (item?.data?.reg_records ?? [])
      .map((b) => `${b['programme_identifier'][0].programme_identifier}:${b['enrollment_status']}`)
      .sort();

  it("answers 'which programmes is this person in' by identifier: their own and their household's", async () => {
    const [amina, halima] = await search(
      key,
      idType('Beneficiary', 'UIN', 'UIN-A1'),
      idType('Beneficiary', 'UIN', 'UIN-C1'),
    );
    expect(programmes(amina)).toEqual(['CCT:Active']);
    expect(amina!.data!.reg_records[0]).toMatchObject({
      assistance_unit: '2',
      group: {
        group_identifier: [{ identifier_value: 'HH-A' }],
        group_head_info: { demographic_info: { name: { given_name: 'Amina' } } },
      },
      programme_identifier: [{ programme_identifier: 'CCT', programme_name: 'Conditional cash transfer' }],
      enrollment_date: '2024-04-01T00:00:00Z',
      benefits: [{ benefit_type: 'Cash', benefit_value: 'TZS 40000' }],
      additional_attributes: ['program_beneficiary_id:CCT-0001'],
    });
    expect(amina!.data!.reg_records[0]!['group']).not.toHaveProperty('member_list');
    expect(halima!.data!.reg_records[0]).toMatchObject({
      assistance_unit: '1',
      member: { member_identifier: [{ identifier_type: 'UIN', identifier_value: 'UIN-C1' }] },
      enrollment_status: 'Suspended',
      benefits: [{ benefit_date: '2025-01-05T00:00:00Z', benefit_frequency: 'monthly' }],
    });
  });

  it('finds beneficiaries by programme, status, area and benefit type', async () => {
    const [byProgramme, byStatus, byArea, byType] = await search(
      key,
      predicate('Beneficiary', ['programme_identifier', 'eq', 'CCT']),
      expression('Beneficiary', { enrollment_status: { $in: ['Suspended', 'Graduated'] } }),
      predicate('Beneficiary', ['location', 'eq', 'R01-D02']),
      predicate('Beneficiary', ['benefit_type', 'eq', 'Cash'], ['enrollment_date', 'ge', '2024-01-01']),
    );
    expect(programmes(byProgramme)).toEqual(['CCT:Active', 'CCT:Graduated']);
    expect(programmes(byStatus)).toEqual(['CCT:Graduated', 'SPEN:Suspended']);
    expect(programmes(byArea)).toEqual(['SPEN:Suspended']);
    expect(byType!.pagination!.total_count).toBe(3);
  });

  it('refuses SR record types and unknown attributes', async () => {
    const [group, unknown] = await search(
      key,
      predicate('Group', ['location', 'eq', 'R01']),
      predicate('Beneficiary', ['poverty_score', 'lt', 5]),
    );
    expect(group).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
    expect(unknown!.status_reason_message).toMatch(/unknown attribute "poverty_score"/);
  });

  it('an analyst receives no names, identifiers or programme beneficiary numbers, and may not search by identifier', async () => {
    const analyst = await t.keyFor('analyst');
    const [records, byId] = await search(
      analyst,
      predicate('Beneficiary', ['programme_identifier', 'in', 'CCT,SPEN']),
      idType('Beneficiary', 'UIN', 'UIN-C1'),
    );
    expect(records!.data!.reg_records).toHaveLength(3);
    const keys = keysDeep(records!.data);
    for (const hidden of ['name', 'member_identifier', 'identifier', 'birth_date']) {
      expect(keys, hidden).not.toContain(hidden);
    }
    expect(JSON.stringify(records!.data)).not.toContain('CCT-0001');
    expect(byId).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
  });
});
