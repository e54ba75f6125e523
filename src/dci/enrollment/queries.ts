import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { enrollmentInScope, type AreaScope } from '#registry/scope';

/** The SQL of the IBR enrollment endpoints, one small query each (STYLE habit 5). */

/** A person identifier: a value, of one type or of any type (the spec's person_identifier has none). */
export interface PersonIdentifier {
  type?: string | undefined;
  value: string;
}

export interface PersonEnrollment {
  program_code: string;
  program_name: string;
  status: string;
  enrolled_at: string;
}

/**
 * The enrollments covering the persons holding this identifier: their own (`own`: individual
 * programmes) and their households' (`household`: household programmes). Served by
 * identifiers_value or identifiers_lookup, and the partial enrollment indexes.
 */
export async function enrollmentsOfPerson(
  db: Kysely<DB>,
  person: PersonIdentifier,
  scope: { own: boolean; household: boolean; programmes?: string[] | undefined; areas: AreaScope },
): Promise<PersonEnrollment[]> {
  const holders = db
    .selectFrom('identifiers as x')
    .select('x.individual_id')
    .where('x.id_value', '=', person.value)
    .$if(person.type !== undefined, (q) => q.where('x.id_type', '=', person.type!));
  const households = db.selectFrom('individuals as i').select('i.household_id').where('i.id', 'in', holders);
  return db
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .select(['p.code as program_code', 'p.name as program_name', 'e.status', 'e.enrolled_at'])
    .where((eb) =>
      eb.or([
        ...(scope.own ? [eb('e.individual_id', 'in', holders)] : []),
        ...(scope.household ? [eb('e.household_id', 'in', households)] : []),
      ]),
    )
    .$if(scope.programmes !== undefined, (q) => q.where('p.code', 'in', scope.programmes!))
    .$if(scope.areas !== undefined, (q) => q.where(enrollmentInScope('e', scope.areas!)))
    .orderBy('p.code')
    .orderBy('e.enrolled_at')
    .execute();
}

/** The names of these programmes, by code (programmes asked about that nobody is enrolled in). */
export async function programmeNames(db: Kysely<DB>, codes: string[]): Promise<Map<string, string>> {
  if (codes.length === 0) {
    return new Map();
  }
  const rows = await db.selectFrom('programs').select(['code', 'name']).where('code', 'in', codes).execute();
  return new Map(rows.map((row) => [row.code, row.name]));
}

export interface ChangedEnrollment {
  id: string;
  updated_at: Date;
  change_seq: number;
}

/**
 * Enrollments changed after `since` (the enrollment trigger stamps updated_at and change_seq on every
 * change, status changes included), in change order, after the `cursor` position when paging.
 */
export async function changedEnrollments(
  db: Kysely<DB>,
  since: string,
  cursor: number | undefined,
  limit: number,
  scope: AreaScope,
): Promise<ChangedEnrollment[]> {
  return db
    .selectFrom('enrollments as e')
    .select(['e.id', 'e.updated_at', 'e.change_seq'])
    .where('e.updated_at', '>', sql<Date>`${since}::timestamptz`)
    .$if(cursor !== undefined, (q) => q.where('e.change_seq', '>', cursor!))
    .$if(scope !== undefined, (q) => q.where(enrollmentInScope('e', scope!)))
    .orderBy('e.change_seq')
    .limit(limit)
    .execute();
}
