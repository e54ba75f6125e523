import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { DB } from '#platform/db/types';
import { householdInScope, inArea, individualInScope, type AreaScope } from './scope.ts';
import type { EnrollmentRow, HouseholdRow, IndividualRow } from './views.ts';

/**
 * One small typed query per need (STYLE habit 5). Callers apply the field policy to the rows; the
 * caller's area scope (scope.ts) is a parameter of every query that reads records for a caller.
 */

/** How many members household `h` has (shared with the DCI query attributes). */
export const memberCountOf = sql<number>`(select count(*)::int from individuals m where m.household_id = h.id)`;
export const memberCount = memberCountOf.as('member_count');

/** A person's identifiers as a JSON array, as every individual read returns them. */
export const identifiersOf = sql<{ type: string; value: string }[]>`coalesce((
  select json_agg(json_build_object('type', x.id_type, 'value', x.id_value) order by x.id_type, x.id_value)
  from identifiers x where x.individual_id = i.id), '[]'::json)`.as('identifiers');

/** An enrollment's status changes, oldest first, as a JSON array. */
export const statusHistoryOf = sql<EnrollmentRow['history']>`coalesce((
        select json_agg(json_build_object('from_status', s.from_status, 'to_status', s.to_status, 'reason', s.reason,
          'changed_at', to_char(s.changed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) order by s.changed_at, s.id)
        from enrollment_status_history s where s.enrollment_id = e.id), '[]'::json)`.as('history');

/** A household, if it exists within the caller's scope. */
export async function findHousehold(
  db: Kysely<DB>,
  id: string,
  scope: AreaScope,
): Promise<HouseholdRow | undefined> {
  return db
    .selectFrom('households as h')
    .selectAll('h')
    .select(memberCount)
    .where('h.id', '=', id)
    .$if(scope !== undefined, (q) => q.where(householdInScope('h', scope!)))
    .executeTakeFirst();
}

export interface HouseholdFilters {
  scope: AreaScope;
  limit: number;
  after?: string | undefined;
  adminArea?: string | undefined;
  status?: string | undefined;
  updatedSince?: string | undefined;
  /** A further condition over `h` (a compiled DCI expression: the GraphQL `where` argument). */
  where?: RawBuilder<SqlBool> | undefined;
}

export async function listHouseholds(db: Kysely<DB>, filters: HouseholdFilters): Promise<HouseholdRow[]> {
  let query = db.selectFrom('households as h').selectAll('h').select(memberCount);
  if (filters.scope) {
    query = query.where(householdInScope('h', filters.scope));
  }
  if (filters.after) {
    query = query.where('h.id', '>', filters.after);
  }
  if (filters.adminArea) {
    query = query.where(inArea(sql.ref('h.admin_area_code'), filters.adminArea));
  }
  if (filters.status) {
    query = query.where('h.status', '=', filters.status);
  }
  if (filters.updatedSince) {
    query = query.where('h.updated_at', '>=', new Date(filters.updatedSince));
  }
  if (filters.where) {
    query = query.where(filters.where);
  }
  return query
    .orderBy('h.id')
    .limit(filters.limit + 1)
    .execute();
}

/** An individual, if their household is within the caller's scope. */
export async function findIndividual(
  db: Kysely<DB>,
  id: string,
  scope: AreaScope,
): Promise<IndividualRow | undefined> {
  return db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(identifiersOf)
    .where('i.id', '=', id)
    .$if(scope !== undefined, (q) => q.where(individualInScope('i', scope!)))
    .executeTakeFirst();
}

/** The members of a household the caller found (findHousehold applied the scope). */
export async function listMembers(db: Kysely<DB>, householdId: string): Promise<IndividualRow[]> {
  return db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(identifiersOf)
    .where('i.household_id', '=', householdId)
    .orderBy(sql`i.relationship_to_head <> 'SELF'`)
    .orderBy('i.birth_date')
    .orderBy('i.id')
    .execute();
}

export interface IndividualFilters {
  scope: AreaScope;
  limit: number;
  after?: string | undefined;
  householdId?: string | undefined;
  sex?: string | undefined;
  isDeceased?: boolean | undefined;
  adminArea?: string | undefined;
  identifier?: { type: string; value: string } | undefined;
  updatedSince?: string | undefined;
  /** A further condition over `i` (a compiled DCI expression: the GraphQL `where` argument). */
  where?: RawBuilder<SqlBool> | undefined;
}

export async function listIndividuals(db: Kysely<DB>, filters: IndividualFilters): Promise<IndividualRow[]> {
  let query = db.selectFrom('individuals as i').selectAll('i').select(identifiersOf);
  if (filters.scope) {
    query = query.where(individualInScope('i', filters.scope));
  }
  if (filters.after) {
    query = query.where('i.id', '>', filters.after);
  }
  if (filters.householdId) {
    query = query.where('i.household_id', '=', filters.householdId);
  }
  if (filters.sex) {
    query = query.where('i.sex', '=', filters.sex);
  }
  if (filters.isDeceased !== undefined) {
    query = query.where('i.is_deceased', '=', filters.isDeceased);
  }
  if (filters.updatedSince) {
    query = query.where('i.updated_at', '>=', new Date(filters.updatedSince));
  }
  if (filters.adminArea) {
    const area = filters.adminArea;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('households as h')
          .select(sql`1`.as('one'))
          .whereRef('h.id', '=', 'i.household_id')
          .where(inArea(sql.ref('h.admin_area_code'), area)),
      ),
    );
  }
  if (filters.identifier) {
    const { type, value } = filters.identifier;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('identifiers as x')
          .select(sql`1`.as('one'))
          .whereRef('x.individual_id', '=', 'i.id')
          .where('x.id_type', '=', type)
          .where('x.id_value', '=', value),
      ),
    );
  }
  if (filters.where) {
    query = query.where(filters.where);
  }
  return query
    .orderBy('i.id')
    .limit(filters.limit + 1)
    .execute();
}

export const listPrograms = (db: Kysely<DB>) =>
  db
    .selectFrom('programs')
    .select([
      'id',
      'code',
      'name',
      'description',
      'benefit_type',
      'target_unit',
      'benefit_frequency',
      'currency',
      'exclusion_groups',
      'active',
    ])
    .orderBy('code')
    .execute();

/**
 * A person's enrollments: their own, and those of their household (household-level programs). The
 * person was found within the caller's scope (findIndividual), and so was their household.
 */
export async function listEnrollmentsOfIndividual(
  db: Kysely<DB>,
  individualId: string,
  householdId: string,
): Promise<EnrollmentRow[]> {
  return db
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .selectAll('e')
    .select(['p.code as program_code', 'p.name as program_name'])
    .select(statusHistoryOf)
    .where((eb) => eb.or([eb('e.individual_id', '=', individualId), eb('e.household_id', '=', householdId)]))
    .orderBy('e.enrolled_at')
    .orderBy('e.id')
    .execute();
}

export interface AdminAreaFilters {
  level?: number | undefined;
  parent?: string | undefined;
  withBoundary: boolean;
}

export async function listAdminAreas(db: Kysely<DB>, filters: AdminAreaFilters) {
  let query = db.selectFrom('admin_areas').select(['code', 'name', 'level', 'level_name', 'parent_code']);
  if (filters.withBoundary) {
    query = query.select('boundary');
  }
  if (filters.level !== undefined) {
    query = query.where('level', '=', filters.level);
  }
  if (filters.parent) {
    query = query.where('parent_code', '=', filters.parent);
  }
  return query.orderBy('code').execute();
}
