import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { householdsByIds, membersOfHouseholds } from '#dci/query/queries';
import { identifiersOf, memberCount } from '#registry/queries';
import type { HouseholdRow, IndividualRow } from '#registry/views';
import type { FieldValue, Identifier, MemberRow } from './fields.ts';
import type { Column, ExportPlan } from './plan.ts';

/**
 * The records of an export, read in keyset batches (`id > last id`, on the primary key): memory
 * holds one batch whatever the size of the export, a batch is one indexed query on either engine,
 * and no transaction or cursor stays open while a slow client reads. A batch is also a slice of
 * work between two turns of the event loop (platform/http/long-reads.ts): small enough that reading
 * and shaping it takes a few milliseconds (PGlite reads 1,000 persons in about 50 ms of our
 * thread's time; 250 in about 10).
 */

export interface ExportRecord {
  values: FieldValue[];
  /** Nested members' values (households with include_members). */
  members?: FieldValue[][];
}

/** Replaces an identifier with its keyed hash (pseudonymised exports). */
export type Pseudonymiser = (value: string) => string;

export const BATCH_SIZE = 250;

export async function* exportBatches(
  db: Kysely<DB>,
  plan: ExportPlan,
  pseudonym?: Pseudonymiser,
  batchSize = BATCH_SIZE,
): AsyncGenerator<ExportRecord[]> {
  // A household brings its members (about five): fewer households per batch keep batches alike.
  const households =
    plan.entity === 'households' && !plan.memberColumns ? batchSize : Math.ceil(batchSize / 4);
  let after: string | undefined;
  for (;;) {
    if (plan.entity === 'individuals') {
      const people = await individualsAfter(db, plan, after, batchSize);
      if (people.length > 0) {
        yield await recordsOf(db, plan, people, pseudonym);
      }
      if (people.length < batchSize) {
        return;
      }
      after = people.at(-1)!.id;
      continue;
    }
    const batch = await householdsAfter(db, plan, after, households);
    if (batch.length > 0) {
      yield await recordsOf(db, plan, batch, pseudonym);
    }
    if (batch.length < households) {
      return;
    }
    after = batch.at(-1)!.id;
  }
}

/**
 * The records of rows the plan's query read: persons (individuals), or households, with their
 * members nested (include_members) or one record per member (household_members).
 */
export async function recordsOf(
  db: Kysely<DB>,
  plan: ExportPlan,
  rows: HouseholdRow[] | IndividualRow[],
  pseudonym: Pseudonymiser | undefined,
): Promise<ExportRecord[]> {
  const shape = (columns: Column[], row: unknown) => valuesOf(columns, row, pseudonym);
  if (plan.entity === 'individuals') {
    return rows.map((person) => ({ values: shape(plan.columns, person) }));
  }
  const households = rows as HouseholdRow[];
  const wantsMembers = plan.entity === 'household_members' || plan.memberColumns !== undefined;
  if (!wantsMembers) {
    return households.map((household) => ({ values: shape(plan.columns, household) }));
  }
  const members = groupBy(
    await membersOfHouseholds(
      db,
      households.map((h) => h.id),
    ),
  );
  if (plan.entity === 'household_members') {
    return households.flatMap((household) =>
      (members.get(household.id) ?? []).map((member) => ({
        values: shape(plan.columns, { member, household } satisfies MemberRow),
      })),
    );
  }
  return households.map((household) => ({
    values: shape(plan.columns, household),
    members: (members.get(household.id) ?? []).map((member) => shape(plan.memberColumns!, member)),
  }));
}

/** Records of the flat view for these members, with their households read by id. */
export async function memberRecordsOf(
  db: Kysely<DB>,
  plan: ExportPlan,
  members: IndividualRow[],
  pseudonym: Pseudonymiser | undefined,
): Promise<ExportRecord[]> {
  const ids = [...new Set(members.map((member) => member.household_id))];
  const households = new Map((await householdsByIds(db, ids, undefined)).map((h) => [h.id, h]));
  return members.map((member) => ({
    values: valuesOf(
      plan.columns,
      { member, household: households.get(member.household_id)! } satisfies MemberRow,
      pseudonym,
    ),
  }));
}

const householdsAfter = (db: Kysely<DB>, plan: ExportPlan, after: string | undefined, limit: number) =>
  db
    .selectFrom('households as h')
    .selectAll('h')
    .select(memberCount)
    .where(plan.where)
    .$if(after !== undefined, (q) => q.where('h.id', '>', after!))
    .orderBy('h.id')
    .limit(limit)
    .execute();

/** A person's identifiers are aggregated only when a column shows them (a correlated query per row). */
const needsIdentifiers = (plan: ExportPlan) => plan.columns.some((column) => column.type === 'identifiers');

const individualsAfter = (db: Kysely<DB>, plan: ExportPlan, after: string | undefined, limit: number) =>
  db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(needsIdentifiers(plan) ? identifiersOf : sql<[]>`'[]'::json`.as('identifiers'))
    .where(plan.where)
    .$if(after !== undefined, (q) => q.where('i.id', '>', after!))
    .orderBy('i.id')
    .limit(limit)
    .execute() as Promise<IndividualRow[]>;

/** How many records the export holds (rows; for household_members, member rows). */
export async function countExport(db: Kysely<DB>, plan: ExportPlan): Promise<number> {
  const query =
    plan.entity === 'individuals'
      ? sql<{ n: number }>`select count(*)::int as n from individuals i where ${plan.where}`
      : plan.entity === 'households'
        ? sql<{ n: number }>`select count(*)::int as n from households h where ${plan.where}`
        : sql<{ n: number }>`select count(*)::int as n from individuals m
            where m.household_id in (select h.id from households h where ${plan.where})`;
  const { rows } = await query.execute(db);
  return rows[0]?.n ?? 0;
}

function valuesOf(columns: Column[], row: unknown, pseudonym: Pseudonymiser | undefined): FieldValue[] {
  return columns.map((column) => {
    const value = (column.value as (row: unknown) => FieldValue)(row);
    return column.pseudonym && pseudonym ? pseudonymised(value, pseudonym) : value;
  });
}

function pseudonymised(value: FieldValue, pseudonym: Pseudonymiser): FieldValue {
  if (typeof value === 'string') {
    return pseudonym(value);
  }
  if (Array.isArray(value)) {
    return (value as Identifier[]).map((id) => ({ type: id.type, value: pseudonym(id.value) }));
  }
  return value;
}

function groupBy(members: IndividualRow[]): Map<string, IndividualRow[]> {
  const byHousehold = new Map<string, IndividualRow[]>();
  for (const member of members) {
    const list = byHousehold.get(member.household_id);
    if (list) {
      list.push(member);
    } else {
      byHousehold.set(member.household_id, [member]);
    }
  }
  return byHousehold;
}
