import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '#platform/db/types';
import { identifiersOf, memberCount, statusHistoryOf } from '#registry/queries';
import { enrollmentInScope, householdInScope, individualInScope, type AreaScope } from '#registry/scope';
import type { EnrollmentRow, HouseholdRow, IndividualRow } from '#registry/views';
import type { Entity, Where } from './attributes.ts';

/**
 * The SQL of a DCI search: count the matches (up to a cap), read one page of ids, then read the
 * records of those ids. One small query each (STYLE habit 5); callers apply the field policy. Reads
 * by id take the caller's area scope too: a record outside it is not read, whatever asked for it.
 */

const FROM: Record<Entity, RawBuilder<unknown>> = {
  person: sql`individuals i`,
  group: sql`households h`,
  beneficiary: sql`enrollments e join programs p on p.id = e.program_id`,
};
const ID: Record<Entity, RawBuilder<unknown>> = {
  person: sql`i.id`,
  group: sql`h.id`,
  beneficiary: sql`e.id`,
};

/** How many records match, counting no further than `cap + 1` (enough to know the cap is passed). */
export async function countMatches(
  db: Kysely<DB>,
  entity: Entity,
  where: Where,
  cap: number,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n
    from (select 1 from ${FROM[entity]} where ${where} limit ${cap + 1}) matches`.execute(db);
  return rows[0]?.n ?? 0;
}

/** The ids of one page of matches, in the requested order. */
export async function pageOfIds(
  db: Kysely<DB>,
  entity: Entity,
  where: Where,
  order: RawBuilder<unknown>,
  page: { size: number; offset: number },
): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`select ${ID[entity]} as id from ${FROM[entity]}
    where ${where} order by ${order} limit ${page.size} offset ${page.offset}`.execute(db);
  return rows.map((row) => row.id);
}

export async function individualsByIds(
  db: Kysely<DB>,
  ids: readonly string[],
  scope: AreaScope,
): Promise<IndividualRow[]> {
  if (ids.length === 0) {
    return [];
  }
  return db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(identifiersOf)
    .where('i.id', 'in', ids)
    .$if(scope !== undefined, (q) => q.where(individualInScope('i', scope!)))
    .execute();
}

/** The members of these households, the head first, then by birth date. */
export async function membersOfHouseholds(
  db: Kysely<DB>,
  householdIds: readonly string[],
): Promise<IndividualRow[]> {
  if (householdIds.length === 0) {
    return [];
  }
  return db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(identifiersOf)
    .where('i.household_id', 'in', householdIds)
    .orderBy('i.household_id')
    .orderBy(sql`i.relationship_to_head <> 'SELF'`)
    .orderBy('i.birth_date')
    .orderBy('i.id')
    .execute();
}

export async function householdsByIds(
  db: Kysely<DB>,
  ids: readonly string[],
  scope: AreaScope,
): Promise<HouseholdRow[]> {
  if (ids.length === 0) {
    return [];
  }
  return db
    .selectFrom('households as h')
    .selectAll('h')
    .select(memberCount)
    .where('h.id', 'in', ids)
    .$if(scope !== undefined, (q) => q.where(householdInScope('h', scope!)))
    .execute();
}

export type BeneficiaryRow = EnrollmentRow & { benefit_type: string; benefit_frequency: string | null };

/** Enrollments with their program and status history (IBR beneficiaries). */
export async function enrollmentsByIds(
  db: Kysely<DB>,
  ids: readonly string[],
  scope: AreaScope,
): Promise<BeneficiaryRow[]> {
  if (ids.length === 0) {
    return [];
  }
  return db
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .selectAll('e')
    .select(['p.code as program_code', 'p.name as program_name', 'p.benefit_type', 'p.benefit_frequency'])
    .select(statusHistoryOf)
    .where('e.id', 'in', ids)
    .$if(scope !== undefined, (q) => q.where(enrollmentInScope('e', scope!)))
    .execute();
}

/** Rows in the order of `ids` (the page order), whatever order the database returned them in. */
export function inOrder<T extends { id: string }>(ids: readonly string[], rows: readonly T[]): T[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** The heads (relationship SELF) of these households. */
export async function headsOfHouseholds(
  db: Kysely<DB>,
  householdIds: readonly string[],
): Promise<IndividualRow[]> {
  if (householdIds.length === 0) {
    return [];
  }
  return db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(identifiersOf)
    .where('i.household_id', 'in', householdIds)
    .where('i.relationship_to_head', '=', 'SELF')
    .execute();
}
