import { randomUUID } from 'node:crypto';
import type { Insertable, Kysely } from 'kysely';
import type { DB, EnrollmentTable, HouseholdTable, IndividualTable, ProgramTable } from '#platform/db/types';

/** Test data factories: sensible defaults, any field overridable, random ids so files run in parallel. */

export async function insertArea(
  db: Kysely<DB>,
  code: string,
  parent: string | null = null,
): Promise<string> {
  const level = code.split('-').length;
  await db
    .insertInto('admin_areas')
    .values({
      code,
      name: `Area ${code}`,
      level,
      level_name: ['region', 'district', 'village'][level - 1] ?? 'area',
      parent_code: parent,
    })
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
  return code;
}

export async function insertHousehold(
  db: Kysely<DB>,
  overrides: Partial<Insertable<HouseholdTable>> = {},
): Promise<string> {
  const id = overrides.id ?? randomUUID();
  await insertArea(db, 'R01');
  await insertArea(db, 'R01-D01', 'R01');
  await db
    .insertInto('households')
    .values({
      id,
      household_number: `HH-${id.slice(0, 8)}`,
      admin_area_code: 'R01-D01',
      latitude: -6.1,
      longitude: 35.2,
      address_line: '12 Baobab Road',
      locality: 'Mji Mpya',
      pmt_score: 31.5,
      income_band: 'poor',
      dwelling_type: 'semi_permanent',
      water_source: 'well',
      has_electricity: false,
      assets: ['radio', 'mobile_phone'],
      registered_at: new Date('2024-03-01T08:00:00Z'),
      ...overrides,
    })
    .execute();
  return id;
}

export async function insertIndividual(
  db: Kysely<DB>,
  householdId: string,
  overrides: Partial<Insertable<IndividualTable>> = {},
  identifiers: { type: string; value: string }[] = [{ type: 'UIN', value: randomUUID().slice(0, 10) }],
): Promise<string> {
  const id = overrides.id ?? randomUUID();
  await db
    .insertInto('individuals')
    .values({
      id,
      household_id: householdId,
      relationship_to_head: 'SELF',
      given_name: 'Amina',
      family_name: 'Okello',
      sex: 'female',
      birth_date: '1985-05-20',
      phone: '+255712345678',
      marital_status: 'married',
      consent_data_sharing: true,
      registered_at: new Date('2024-03-01T08:00:00Z'),
      ...overrides,
    })
    .execute();
  if (identifiers.length > 0) {
    await db
      .insertInto('identifiers')
      .values(
        identifiers.map((x) => ({ individual_id: id, id_type: x.type, id_value: x.value, issued_by: null })),
      )
      .execute();
  }
  return id;
}

export async function insertProgram(
  db: Kysely<DB>,
  overrides: Partial<Insertable<ProgramTable>> = {},
): Promise<string> {
  const id = overrides.id ?? randomUUID();
  await db
    .insertInto('programs')
    .values({
      id,
      code: `P${id.slice(0, 6)}`,
      name: 'Cash transfer',
      benefit_type: 'cash',
      target_unit: 'household',
      currency: 'TZS',
      ...overrides,
    })
    .execute();
  return id;
}

export async function insertEnrollment(
  db: Kysely<DB>,
  programId: string,
  beneficiary: { household_id: string } | { individual_id: string },
  overrides: Partial<Insertable<EnrollmentTable>> = {},
): Promise<string> {
  const id = overrides.id ?? randomUUID();
  await db
    .insertInto('enrollments')
    .values({
      id,
      program_id: programId,
      ...beneficiary,
      status: 'enrolled',
      enrolled_at: '2024-04-01',
      benefit_amount: 40000,
      currency: 'TZS',
      payment_method: 'mobile_money',
      payment_account: '+255712345678',
      program_beneficiary_id: `B-${id.slice(0, 6)}`,
      ...overrides,
    })
    .execute();
  await db
    .insertInto('enrollment_status_history')
    .values({
      enrollment_id: id,
      from_status: null,
      to_status: 'enrolled',
      reason: 'eligible',
      changed_at: new Date('2024-04-01T00:00:00Z'),
      changed_by: null,
    })
    .execute();
  return id;
}
