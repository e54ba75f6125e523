import { Type, type Static } from '@sinclair/typebox';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest } from '#platform/problem';
import { StringEnum } from '#platform/http/kit';
import { compileFilter } from '#exports/plan';
import { householdInScope } from '#registry/scope';
import { assertMayLookUp } from '#registry/views';

/**
 * Real-time eligibility checks (IBR-036): is this person or household enrolled in program X,
 * eligible for program Y, already receiving a benefit that excludes Y? A program's criteria are
 * conditions in the DCI expression language over households (`applies_to: household`, alias h) or
 * persons (`person`, alias i; for a household, any member), compiled like a DCI search under the
 * caller's field policy, and evaluated for every subject of a request in one SQL statement. The
 * answer says which criteria passed and which failed.
 */

export const Criterion = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,59}$' }),
    description: Type.Optional(Type.String({ maxLength: 300 })),
    applies_to: StringEnum(['household', 'person']),
    expression: Type.Object({}, { additionalProperties: true, description: 'DCI expression query' }),
  },
  { additionalProperties: false },
);
export type Criterion = Static<typeof Criterion>;

export const MAX_SUBJECTS = 10_000;

export interface Subject {
  person_id?: string | undefined;
  household_id?: string | undefined;
  identifier_type?: string | undefined;
  identifier_value?: string | undefined;
}

/** A criterion as SQL over `h` (the subject's household) and, for a person subject, `i`. */
function criterionSql(
  criterion: Criterion,
  principal: Principal,
  subjectIsPerson: boolean,
): RawBuilder<boolean> {
  const where = compileFilter(
    criterion.expression,
    criterion.applies_to === 'person' ? 'person' : 'group',
    principal,
  );
  if (criterion.applies_to === 'household') {
    return sql<boolean>`coalesce((${where}), false)`;
  }
  return subjectIsPerson
    ? sql<boolean>`coalesce((${where}), false)`
    : sql<boolean>`exists (select 1 from individuals i where i.household_id = h.id and ${where})`;
}

/** Refuses criteria that do not compile for the one who saves them (names the criterion). */
export function checkCriteria(criteria: Criterion[], principal: Principal): void {
  const names = new Set<string>();
  criteria.forEach((criterion, n) => {
    if (names.has(criterion.name)) {
      throw badRequest(`criterion "${criterion.name}" is named twice`, [
        { pointer: `/criteria/${n}/name`, detail: 'duplicate' },
      ]);
    }
    names.add(criterion.name);
    try {
      criterionSql(criterion, principal, true);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw badRequest(`criterion "${criterion.name}": ${detail}`, [
        { pointer: `/criteria/${n}/expression`, detail },
      ]);
    }
  });
}

interface ResolvedSubject {
  index: number;
  personId: string | null;
  householdId: string | null;
}

/** The subjects' persons and households (within the caller's areas), in request order. */
async function resolve(
  db: Kysely<DB>,
  subjects: Subject[],
  principal: Principal,
): Promise<ResolvedSubject[]> {
  const scope = principal.areaScope;
  const inScope = scope ? sql`and ${householdInScope('h', scope)}` : sql``;
  const personIds = subjects.flatMap((s) => (s.person_id ? [s.person_id] : []));
  const householdIds = subjects.flatMap((s) => (s.household_id ? [s.household_id] : []));
  const identifiers = subjects.flatMap((s) =>
    s.identifier_type ? [`${s.identifier_type}|${s.identifier_value}`] : [],
  );
  const [people, households, identified] = await Promise.all([
    personIds.length === 0
      ? []
      : sql<{ id: string; household_id: string }>`select i.id, i.household_id from individuals i
          join households h on h.id = i.household_id where i.id = any(${personIds}::uuid[]) ${inScope}`
          .execute(db)
          .then((r) => r.rows),
    householdIds.length === 0
      ? []
      : sql<{
          id: string;
        }>`select h.id from households h where h.id = any(${householdIds}::uuid[]) ${inScope}`
          .execute(db)
          .then((r) => r.rows),
    identifiers.length === 0
      ? []
      : sql<{
          key: string;
          id: string;
          household_id: string;
        }>`select x.id_type || '|' || x.id_value as key, i.id, i.household_id
          from identifiers x join individuals i on i.id = x.individual_id join households h on h.id = i.household_id
          where x.id_type || '|' || x.id_value = any(${identifiers}::text[]) ${inScope}`
          .execute(db)
          .then((r) => r.rows),
  ]);
  const person = new Map(people.map((p) => [p.id, p.household_id]));
  const household = new Set(households.map((h) => h.id));
  const byIdentifier = new Map<string, { id: string; household_id: string }[]>();
  for (const row of identified) {
    byIdentifier.set(row.key, [...(byIdentifier.get(row.key) ?? []), row]);
  }
  return subjects.map((s, index) => {
    if (s.person_id) {
      const h = person.get(s.person_id);
      return { index, personId: h ? s.person_id : null, householdId: h ?? null };
    }
    if (s.household_id) {
      return { index, personId: null, householdId: household.has(s.household_id) ? s.household_id : null };
    }
    // An identifier held by several persons identifies nobody.
    const holders = byIdentifier.get(`${s.identifier_type}|${s.identifier_value}`) ?? [];
    return holders.length === 1
      ? { index, personId: holders[0]!.id, householdId: holders[0]!.household_id }
      : { index, personId: null, householdId: null, ambiguous: holders.length > 1 };
  });
}

interface Program {
  id: string;
  code: string;
  target_unit: string;
  exclusion_groups: string[];
  criteria: Criterion[];
}

/** Each subject's answer: found, criteria passed and failed, enrollment in the program, exclusions. */
export async function checkEligibility(
  db: Kysely<DB>,
  program: Program,
  subjects: Subject[],
  principal: Principal,
) {
  // Found or not found by an identifier tells the identifier: the field policy of a filter on it.
  if (subjects.some((s) => s.identifier_type !== undefined)) {
    assertMayLookUp(principal, 'identifier');
  }
  const resolved = await resolve(db, subjects, principal);
  const found = resolved.filter((s) => s.householdId !== null);
  const [criteria, places] = await Promise.all([
    evaluate(db, program, found, principal),
    activePlaces(db, program, found),
  ]);
  return resolved.map((s) => {
    const subject = subjects[s.index]!;
    if (s.householdId === null) {
      return { subject, found: false, ambiguous: 'ambiguous' in s ? Boolean(s.ambiguous) : false };
    }
    const key = s.personId ?? s.householdId;
    const results = criteria.get(key) ?? {};
    const passed = program.criteria.filter((c) => results[c.name]).map((c) => c.name);
    const failed = program.criteria.filter((c) => !results[c.name]).map((c) => c.name);
    // As enrollment checks count them: a person with their household's places, a household with its members'.
    const mine = places.filter(
      (p) =>
        p.family === s.householdId &&
        (s.personId === null || p.household_id !== null || p.individual_id === s.personId),
    );
    const enrollment = mine.find((p) => p.program_id === program.id);
    const excludedBy = mine
      .filter(
        (p) =>
          p.program_id !== program.id && p.exclusion_groups.some((g) => program.exclusion_groups.includes(g)),
      )
      .map((p) => ({ program: p.code, enrollment_id: p.id, status: p.status }));
    return {
      subject,
      found: true,
      person_id: s.personId,
      household_id: s.householdId,
      enrolled: enrollment ? { enrollment_id: enrollment.id, status: enrollment.status } : null,
      eligible: failed.length === 0 && excludedBy.length === 0,
      criteria: { passed, failed },
      excluded_by: excludedBy,
    };
  });
}

/** Every criterion for every found subject, in one statement per kind of subject. */
async function evaluate(db: Kysely<DB>, program: Program, found: ResolvedSubject[], principal: Principal) {
  const answers = new Map<string, Record<string, boolean>>();
  if (program.criteria.length === 0) {
    return answers;
  }
  const columns = (person: boolean) =>
    sql.join(
      program.criteria.map((c, n) => sql`${criterionSql(c, principal, person)} as ${sql.id(`c${n}`)}`),
    );
  const personIds = found.flatMap((s) => (s.personId ? [s.personId] : []));
  const householdIds = found.flatMap((s) => (s.personId ? [] : [s.householdId!]));
  const read = (rows: Record<string, unknown>[]) => {
    for (const row of rows) {
      answers.set(
        row['id'] as string,
        Object.fromEntries(program.criteria.map((c, n) => [c.name, row[`c${n}`] === true])),
      );
    }
  };
  if (personIds.length > 0) {
    const { rows } = await sql<Record<string, unknown>>`select i.id, ${columns(true)} from individuals i
      join households h on h.id = i.household_id where i.id = any(${personIds}::uuid[])`.execute(db);
    read(rows);
  }
  if (householdIds.length > 0) {
    const { rows } = await sql<Record<string, unknown>>`select h.id, ${columns(false)} from households h
      where h.id = any(${householdIds}::uuid[])`.execute(db);
    read(rows);
  }
  return answers;
}

/** Active places (enrolled or suspended) of the subjects' households and persons, with programs. */
async function activePlaces(db: Kysely<DB>, program: Program, found: ResolvedSubject[]) {
  const households = [...new Set(found.map((s) => s.householdId!))];
  if (households.length === 0) {
    return [];
  }
  const { rows } = await sql<{
    id: string;
    program_id: string;
    code: string;
    status: string;
    household_id: string | null;
    individual_id: string | null;
    family: string;
    exclusion_groups: string[];
  }>`select e.id, e.program_id, p.code, e.status, e.household_id, e.individual_id, p.exclusion_groups,
      coalesce(e.household_id, i.household_id) as family
    from (
      -- Each side through its own index (an OR of the two would scan every enrollment).
      select * from enrollments where household_id = any(${households}::uuid[])
      union all
      select * from enrollments where individual_id in (
        select m.id from individuals m where m.household_id = any(${households}::uuid[]))
    ) e join programs p on p.id = e.program_id left join individuals i on i.id = e.individual_id
    where e.status in ('enrolled', 'suspended')
      and (e.program_id = ${program.id} or p.exclusion_groups && ${program.exclusion_groups}::text[])`.execute(
    db,
  );
  return rows;
}
