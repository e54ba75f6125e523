import type { Kysely, RawBuilder, SqlBool } from 'kysely';
import type { DB } from '#platform/db/types';
import { statusHistoryOf } from '#registry/queries';
import type { EnrollmentRow } from '#registry/views';

/**
 * The enrollment queries the GraphQL API needs beyond the REST ones (registry/queries.ts): a keyset
 * list with filters, and the enrollments of many households or persons at once (one query per page
 * of parents rather than one per parent). Callers apply the field policy to the rows.
 */

const enrollments = (db: Kysely<DB>) =>
  db
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .selectAll('e')
    .select(['p.code as program_code', 'p.name as program_name'])
    .select(statusHistoryOf);

export interface EnrollmentFilters {
  limit: number;
  after?: string | undefined;
  programCode?: string | undefined;
  status?: string | undefined;
  householdId?: string | undefined;
  individualId?: string | undefined;
  updatedSince?: string | undefined;
  /** Over `e` and `p`, the caller's area scope included (dci/query/compile.ts withinScope). */
  where: RawBuilder<SqlBool>;
}

/** One page of enrollments (`limit + 1` rows, for toPage), ordered by id. */
export async function listEnrollments(db: Kysely<DB>, filters: EnrollmentFilters): Promise<EnrollmentRow[]> {
  let query = enrollments(db).where(filters.where);
  if (filters.after) {
    query = query.where('e.id', '>', filters.after);
  }
  if (filters.programCode) {
    query = query.where('p.code', '=', filters.programCode);
  }
  if (filters.status) {
    query = query.where('e.status', '=', filters.status);
  }
  if (filters.householdId) {
    query = query.where('e.household_id', '=', filters.householdId);
  }
  if (filters.individualId) {
    query = query.where('e.individual_id', '=', filters.individualId);
  }
  if (filters.updatedSince) {
    query = query.where('e.updated_at', '>=', new Date(filters.updatedSince));
  }
  return query
    .orderBy('e.id')
    .limit(filters.limit + 1)
    .execute();
}

/**
 * The enrollments whose beneficiary is one of these persons or households, in enrollment order. The
 * parents were read within the caller's scope, and so are their enrollments.
 */
export async function enrollmentsOfBeneficiaries(
  db: Kysely<DB>,
  beneficiaries: { individualIds: readonly string[]; householdIds: readonly string[] },
): Promise<EnrollmentRow[]> {
  const { individualIds, householdIds } = beneficiaries;
  if (individualIds.length === 0 && householdIds.length === 0) {
    return [];
  }
  return enrollments(db)
    .where((eb) =>
      eb.or([
        ...(individualIds.length > 0 ? [eb('e.individual_id', 'in', individualIds)] : []),
        ...(householdIds.length > 0 ? [eb('e.household_id', 'in', householdIds)] : []),
      ]),
    )
    .orderBy('e.enrolled_at')
    .orderBy('e.id')
    .execute();
}
