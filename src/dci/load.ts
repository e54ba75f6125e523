import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import type { IndividualView } from '#registry/schemas';
import { enrollmentView, householdView, individualView } from '#registry/views';
import { beneficiaryRecord } from './beneficiaries.ts';
import * as q from './query/queries.ts';
import { groupRecord, memberRecord, personRecord, type DciRecord } from './records.ts';

/** What a search returns: SR Group, Member or Person records, or IBR Beneficiary records. */
export type RecordShape = 'Group' | 'Member' | 'Person' | 'Beneficiary';

/**
 * Ids read and shaped at a time. A page of 500 Group records is 500 households and some 2,500
 * members: read at once, PGlite (on our thread) took some 150 ms for them, during which no other
 * request was served (platform/http/long-reads.ts). The members of 50 households take about 10 ms,
 * and each chunk's reads give the event loop back.
 */
const CHUNK = 50;

/**
 * Reads the records of one page of ids, in page order, within the principal's area scope and
 * through the registry's field policy views (registry/views.ts), and shapes them as DCI records.
 */
export async function loadRecords(
  db: Kysely<DB>,
  shape: RecordShape,
  ids: string[],
  principal: Principal,
): Promise<DciRecord[]> {
  const records: DciRecord[] = [];
  for (let at = 0; at < ids.length; at += CHUNK) {
    records.push(...(await loadChunk(db, shape, ids.slice(at, at + CHUNK), principal)));
  }
  return records;
}

function loadChunk(
  db: Kysely<DB>,
  shape: RecordShape,
  ids: string[],
  principal: Principal,
): Promise<DciRecord[]> {
  switch (shape) {
    case 'Group':
      return loadGroups(db, ids, principal);
    case 'Member':
    case 'Person':
      return loadPersons(db, shape, ids, principal);
    case 'Beneficiary':
      return loadBeneficiaries(db, ids, principal);
  }
}

async function loadPersons(
  db: Kysely<DB>,
  shape: 'Member' | 'Person',
  ids: string[],
  principal: Principal,
): Promise<DciRecord[]> {
  const rows = q.inOrder(ids, await q.individualsByIds(db, ids, principal.areaScope));
  const toRecord = shape === 'Member' ? memberRecord : personRecord;
  return rows.map((row) => toRecord(individualView(row, principal)));
}

async function loadGroups(db: Kysely<DB>, ids: string[], principal: Principal): Promise<DciRecord[]> {
  const households = q.inOrder(ids, await q.householdsByIds(db, ids, principal.areaScope));
  const members = new Map<string, IndividualView[]>();
  for (const row of await q.membersOfHouseholds(db, ids)) {
    members.set(row.household_id, [...(members.get(row.household_id) ?? []), individualView(row, principal)]);
  }
  return households.map((row) => groupRecord(householdView(row, principal), members.get(row.id) ?? []));
}

async function loadBeneficiaries(db: Kysely<DB>, ids: string[], principal: Principal): Promise<DciRecord[]> {
  const enrollments = q.inOrder(ids, await q.enrollmentsByIds(db, ids, principal.areaScope));
  const personIds = enrollments.flatMap((e) => e.individual_id ?? []);
  const householdIds = enrollments.flatMap((e) => e.household_id ?? []);
  const [persons, households, heads] = await Promise.all([
    q.individualsByIds(db, personIds, principal.areaScope),
    q.householdsByIds(db, householdIds, principal.areaScope),
    q.headsOfHouseholds(db, householdIds),
  ]);
  const personById = new Map(persons.map((p) => [p.id, individualView(p, principal)]));
  const householdById = new Map(households.map((h) => [h.id, householdView(h, principal)]));
  const headByHousehold = new Map(heads.map((h) => [h.household_id, individualView(h, principal)]));
  return enrollments.map((row) =>
    beneficiaryRecord({
      enrollment: enrollmentView(row, principal),
      program: { benefit_type: row.benefit_type, benefit_frequency: row.benefit_frequency },
      member: row.individual_id ? personById.get(row.individual_id) : undefined,
      household: row.household_id ? householdById.get(row.household_id) : undefined,
      head: row.household_id ? headByHousehold.get(row.household_id) : undefined,
    }),
  );
}
