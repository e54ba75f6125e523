import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { statusHistoryOf } from '#registry/queries';
import { householdInScope, individualInScope, type AreaScope } from '#registry/scope';
import type { EnrollmentRow } from '#registry/views';

/**
 * The IBR's reads (IBR-030): whose participation is asked for, and every enrollment of a household
 * and its members with its program. Each read that finds a subject for a caller applies its area
 * scope; the enrollments of a subject found are read by its household.
 */

export type ParticipationRow = EnrollmentRow & {
  benefit_type: string;
  benefit_frequency: string | null;
  target_unit: string;
};

/** Persons holding an identifier (any type the registry holds), within the scope. */
export const personsByIdentifier = (db: Kysely<DB>, type: string, value: string, scope: AreaScope) =>
  db
    .selectFrom('individuals as i')
    .select(['i.id', 'i.household_id'])
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('identifiers as x')
          .select(sql`1`.as('one'))
          .whereRef('x.individual_id', '=', 'i.id')
          .where('x.id_type', '=', type)
          .where('x.id_value', '=', value),
      ),
    )
    .$if(scope !== undefined, (q) => q.where(individualInScope('i', scope!)))
    .limit(20)
    .execute();

/** Persons with this phone number, within the scope. */
export const personsByPhone = (db: Kysely<DB>, phone: string, scope: AreaScope) =>
  db
    .selectFrom('individuals as i')
    .select(['i.id', 'i.household_id'])
    .where('i.phone', '=', phone)
    .$if(scope !== undefined, (q) => q.where(individualInScope('i', scope!)))
    .limit(20)
    .execute();

/** The beneficiaries a program gave this beneficiary id (a person or a household), within the scope. */
export const beneficiariesById = (db: Kysely<DB>, beneficiaryId: string, scope: AreaScope) =>
  db
    .selectFrom('enrollments as e')
    .leftJoin('individuals as i', 'i.id', 'e.individual_id')
    .select(['e.individual_id', sql<string>`coalesce(e.household_id, i.household_id)`.as('household_id')])
    .where('e.program_beneficiary_id', '=', beneficiaryId)
    .$if(scope !== undefined, (q) =>
      q.where(
        sql<boolean>`coalesce(e.household_id, i.household_id) in (select sh.id from households sh where ${householdInScope('sh', scope!)})`,
      ),
    )
    .limit(20)
    .execute();

/** Every enrollment of the household and of its members, with its program, oldest first. */
export const participationOfHousehold = (db: Kysely<DB>, householdId: string): Promise<ParticipationRow[]> =>
  db
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .selectAll('e')
    .select([
      'p.code as program_code',
      'p.name as program_name',
      'p.benefit_type',
      'p.benefit_frequency',
      'p.target_unit',
    ])
    .select(statusHistoryOf)
    .where((eb) =>
      eb.or([
        eb('e.household_id', '=', householdId),
        eb(
          'e.individual_id',
          'in',
          eb.selectFrom('individuals as m').select('m.id').where('m.household_id', '=', householdId),
        ),
      ]),
    )
    .orderBy('e.enrolled_at')
    .orderBy('e.id')
    .execute();
