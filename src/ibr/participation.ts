import type { Kysely } from 'kysely';
import { maySee, type Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound } from '#platform/problem';
import { findHousehold, findIndividual, listMembers } from '#registry/queries';
import type { AreaScope } from '#registry/scope';
import { identifierKey } from '#security/anomaly/lookup-keys';
import { assertMayLookUp, enrollmentView, type LookupKey } from '#registry/views';
import {
  beneficiariesById,
  participationOfHousehold,
  personsByIdentifier,
  personsByPhone,
  type ParticipationRow,
} from './queries.ts';

/**
 * The multi-program beneficiary view (IBR-030): for a person or a household, found by its id or by
 * any identifier, its participation in every program (status, history, benefit, last payment,
 * payment account: masked unless the caller's policy shows it, and none at all for a de-identified
 * caller), and its household members'.
 */

export interface SubjectQuery {
  person_id?: string | undefined;
  household_id?: string | undefined;
  identifier_type?: string | undefined;
  identifier_value?: string | undefined;
  program_beneficiary_id?: string | undefined;
  phone?: string | undefined;
}

interface Subject {
  type: 'individual' | 'household';
  id: string;
  householdId: string;
}

/** The query fields that look a subject up by a personal value, and the lookup key each one is. */
const LOOKUP_KEY_OF: Partial<Record<keyof SubjectQuery, LookupKey>> = {
  identifier_type: 'identifier',
  identifier_value: 'identifier',
  phone: 'phone',
  program_beneficiary_id: 'program_beneficiary_id',
};

/**
 * The key a subject is looked up by, for the anomaly guard: a record id as REST counts it
 * (`individual:<id>`), a typed identifier as every API counts it (`UIN:<value>`), a phone number
 * or a program's beneficiary id.
 */
export function subjectKey(query: SubjectQuery): string {
  if (query.person_id) {
    return `individual:${query.person_id}`;
  }
  if (query.household_id) {
    return `household:${query.household_id}`;
  }
  if (query.program_beneficiary_id) {
    return `beneficiary:${query.program_beneficiary_id}`;
  }
  return query.phone
    ? `phone:${query.phone}`
    : identifierKey(query.identifier_type!, query.identifier_value!);
}

/** The subjects a lookup found (within the caller's scope), its key, and what that key is. */
export interface SubjectLookup {
  key: string;
  what: string;
  subjects: Subject[];
}

/**
 * The subjects the query names, within the caller's scope; refused when it names none or several
 * kinds, or looks up by a field the caller may not see (as a filter on it would be).
 */
export async function lookUpSubjects(
  db: Kysely<DB>,
  query: SubjectQuery,
  principal: Principal,
): Promise<SubjectLookup> {
  const given = (Object.keys(query) as (keyof SubjectQuery)[]).filter((key) => query[key] !== undefined);
  const identifier = given.includes('identifier_type') || given.includes('identifier_value');
  const selectors = given.filter((key) => !key.startsWith('identifier_')).length + (identifier ? 1 : 0);
  if (selectors !== 1 || (identifier && (!query.identifier_type || !query.identifier_value))) {
    throw badRequest(
      'name one subject: person_id, household_id, identifier_type with identifier_value, program_beneficiary_id or phone',
      [{ pointer: given[0] ?? 'person_id', detail: 'exactly one subject is required' }],
    );
  }
  for (const field of given) {
    const key = LOOKUP_KEY_OF[field];
    if (key) {
      assertMayLookUp(principal, key);
    }
  }
  return { key: subjectKey(query), ...(await findSubjects(db, query, principal.areaScope)) };
}

async function findSubjects(
  db: Kysely<DB>,
  query: SubjectQuery,
  scope: AreaScope,
): Promise<{ what: string; subjects: Subject[] }> {
  if (query.person_id) {
    const person = await findIndividual(db, query.person_id, scope);
    const subjects: Subject[] = person
      ? [{ type: 'individual', id: person.id, householdId: person.household_id }]
      : [];
    return { what: 'person id', subjects };
  }
  if (query.household_id) {
    const household = await findHousehold(db, query.household_id, scope);
    const subjects: Subject[] = household
      ? [{ type: 'household', id: household.id, householdId: household.id }]
      : [];
    return { what: 'household id', subjects };
  }
  if (query.program_beneficiary_id) {
    const found = await beneficiariesById(db, query.program_beneficiary_id, scope);
    const subjects = found.map((b): Subject =>
      b.individual_id
        ? { type: 'individual', id: b.individual_id, householdId: b.household_id }
        : { type: 'household', id: b.household_id, householdId: b.household_id },
    );
    return { what: 'program beneficiary id', subjects };
  }
  const persons = query.phone
    ? await personsByPhone(db, query.phone, scope)
    : await personsByIdentifier(db, query.identifier_type!, query.identifier_value!, scope);
  return {
    what: query.phone ? 'phone number' : 'identifier',
    subjects: persons.map((p): Subject => ({ type: 'individual', id: p.id, householdId: p.household_id })),
  };
}

/** The one subject a lookup found: 404 when none, 409 when several. */
export function onlySubject({ subjects, what }: SubjectLookup): Subject {
  const distinct = [...new Map(subjects.map((s) => [`${s.type}:${s.id}`, s])).values()];
  if (distinct.length === 0) {
    throw notFound('beneficiary');
  }
  if (distinct.length > 1) {
    throw conflict(
      `this ${what} belongs to ${distinct.length} records (${distinct.map((s) => `${s.type} ${s.id}`).join(', ')}); ask by person_id or household_id`,
    );
  }
  return distinct[0]!;
}

/** The last four characters, the rest starred: enough to recognise an account, not to use it. */
export const maskAccount = (account: string): string =>
  account.length <= 4 ? '*'.repeat(account.length) : `${'*'.repeat(account.length - 4)}${account.slice(-4)}`;

function participationView(row: ParticipationRow, principal: Principal) {
  const enrollment = enrollmentView(row, principal);
  const shown = maySee(principal, 'payment_account');
  // A caller working on de-identified data (identifiers hidden: analysts) gets no part of an
  // account: its last four characters and length would link the record to payment data.
  const masked = !shown && maySee(principal, 'identifier') && row.payment_account !== null;
  return {
    program: {
      id: row.program_id,
      code: row.program_code,
      name: row.program_name,
      benefit_type: row.benefit_type,
      benefit_frequency: row.benefit_frequency,
      target_unit: row.target_unit,
    },
    enrollment: {
      ...enrollment,
      payment_account: shown ? row.payment_account : masked ? maskAccount(row.payment_account!) : null,
      payment_account_masked: masked,
    },
  };
}

const isActive = (row: ParticipationRow) => row.status === 'enrolled';

/** The view of a subject: its own programs (its household's too, for a person), and its members'. */
export async function participationOf(db: Kysely<DB>, subject: Subject, principal: Principal) {
  const [rows, members] = await Promise.all([
    participationOfHousehold(db, subject.householdId),
    listMembers(db, subject.householdId),
  ]);
  const concerns = (row: ParticipationRow) =>
    row.household_id === subject.householdId ||
    subject.type === 'household' ||
    row.individual_id === subject.id;
  const own = rows.filter(concerns);
  const lastPayment =
    own
      .map((r) => r.last_payment_at)
      .filter((d): d is string => d !== null)
      .sort()
      .at(-1) ?? null;
  return {
    subject: { type: subject.type, id: subject.id, household_id: subject.householdId },
    summary: {
      programs: own.length,
      active: own.filter(isActive).length,
      active_programs: [...new Set(own.filter(isActive).map((r) => r.program_code))],
      last_payment_at: lastPayment,
    },
    programs: own.map((row) => participationView(row, principal)),
    members: members.map((member) => ({
      id: member.id,
      relationship_to_head: member.relationship_to_head,
      programs: rows
        .filter((row) => row.individual_id === member.id)
        .map((row) => ({ code: row.program_code, status: row.status, enrolled_at: row.enrolled_at })),
    })),
    recordIds: [...new Set([subject.id, ...own.map((r) => r.id)])],
  };
}
