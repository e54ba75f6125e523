import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound } from '#platform/problem';
import { findHousehold, findIndividual } from '#registry/queries';

/**
 * Program enrollment lifecycle and benefit coordination (IBR, issue 7): enroll, suspend, resume,
 * graduate, exit, and transfer from one program to another, each with a reason in the status
 * history. Within one transaction per change, under a lock of the household: programs sharing an
 * exclusion group are mutually exclusive (the household's enrollments and its members' count
 * together), and a household's monthly benefits across programs stay under the cap of their
 * currency. A refusal names the enrollment it conflicts with, and writes nothing.
 */

export type Beneficiary = { type: 'individual' | 'household'; id: string };

export interface Enrollment {
  program: string;
  beneficiary: Beneficiary;
  reason?: string | undefined;
  enrolled_at?: string | undefined;
  program_beneficiary_id?: string | undefined;
  benefit_amount?: number | undefined;
  currency?: string | undefined;
  payment_method?: string | undefined;
  payment_account?: string | undefined;
}

export const TRANSITIONS = {
  suspend: { from: ['enrolled'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'enrolled' },
  graduate: { from: ['enrolled', 'suspended'], to: 'graduated' },
  exit: { from: ['enrolled', 'suspended'], to: 'exited' },
} as const;
export type TransitionAction = keyof typeof TRANSITIONS;

/** Enrollments that still hold a place in their program. */
const ACTIVE = ['enrolled', 'suspended'];

/** Months a payment covers, by the program's frequency (one-off payments are not monthly benefits). */
const MONTHS: Record<string, number> = { monthly: 1, bimonthly: 2, quarterly: 3, yearly: 12 };

type Trx = Transaction<DB>;

/**
 * Serialises the changes of one household's enrollments (both engines: an advisory lock). The key
 * keeps its old spelling: gateways of an earlier version sharing the database take the same lock.
 */
const lockHousehold = (trx: Trx, householdId: string) =>
  sql`select pg_advisory_xact_lock(hashtext('enrolments:' || ${householdId}))`.execute(trx);

const findProgramByCode = (trx: Trx, code: string) =>
  trx.selectFrom('programs').selectAll().where('code', '=', code).executeTakeFirst();

/** The beneficiary's household, if the beneficiary exists within the caller's areas. */
async function householdOf(db: Kysely<DB>, beneficiary: Beneficiary, principal: Principal): Promise<string> {
  const scope = principal.areaScope;
  const found =
    beneficiary.type === 'individual'
      ? (await findIndividual(db, beneficiary.id, scope))?.household_id
      : (await findHousehold(db, beneficiary.id, scope))?.id;
  if (!found) {
    throw notFound(beneficiary.type);
  }
  return found;
}

/** The active enrollments of a household and its members, with their programs. */
const activeEnrollmentsOf = (trx: Trx, householdId: string) =>
  trx
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .select([
      'e.id',
      'e.individual_id',
      'e.household_id',
      'e.status',
      'e.benefit_amount',
      'e.currency',
      'p.id as program_id',
      'p.code',
      'p.exclusion_groups',
      'p.benefit_frequency',
    ])
    .where('e.status', 'in', ACTIVE)
    // Each side through its own index (an OR of the two would scan every enrollment).
    .where(
      'e.id',
      'in',
      sql<string>`(select id from enrollments where household_id = ${householdId}
        union all select id from enrollments where individual_id in (select m.id from individuals m where m.household_id = ${householdId}))`,
    )
    .execute();

type Program = NonNullable<Awaited<ReturnType<typeof findProgramByCode>>>;
type Active = Awaited<ReturnType<typeof activeEnrollmentsOf>>[number];

/** Refuses a place in `program` for the beneficiary that conflicts with another active enrollment. */
async function checkCoordination(
  trx: Trx,
  householdId: string,
  beneficiary: Beneficiary,
  program: Program,
  benefit: { amount: number | null; currency: string | null },
  ignoring?: string,
): Promise<void> {
  const active = (await activeEnrollmentsOf(trx, householdId)).filter((e) => e.id !== ignoring);
  const holder = (e: Active) =>
    e.individual_id ? `person ${e.individual_id}` : `household ${e.household_id}`;
  const same = active.find(
    (e) => e.program_id === program.id && (e.individual_id ?? e.household_id) === beneficiary.id,
  );
  if (same) {
    throw conflict(`${holder(same)} is already in ${program.code}: enrollment ${same.id} (${same.status})`);
  }
  // A person counts with their household: a person's place and the household's are one family's.
  const family = active.filter(
    (e) => beneficiary.type === 'household' || e.household_id !== null || e.individual_id === beneficiary.id,
  );
  for (const group of program.exclusion_groups) {
    const clash = family.find((e) => e.exclusion_groups.includes(group));
    if (clash) {
      throw conflict(
        `${program.code} and ${clash.code} are mutually exclusive (group ${group}): ${holder(clash)} holds enrollment ${clash.id} (${clash.status})`,
      );
    }
  }
  await checkCap(trx, active, program, benefit);
}

const monthly = (amount: number | null, frequency: string | null) =>
  amount === null || frequency === 'one_off' ? 0 : amount / (MONTHS[frequency ?? 'monthly'] ?? 1);

async function checkCap(
  trx: Trx,
  active: Active[],
  program: Program,
  benefit: { amount: number | null; currency: string | null },
): Promise<void> {
  const currency = benefit.currency ?? program.currency;
  const added = monthly(benefit.amount, program.benefit_frequency);
  if (!currency || added === 0) {
    return;
  }
  const cap = await trx
    .selectFrom('benefit_caps')
    .select('monthly_cap')
    .where('currency', '=', currency)
    .executeTakeFirst();
  if (!cap) {
    return;
  }
  const current = active
    .filter((e) => e.currency === currency)
    .reduce((sum, e) => sum + monthly(e.benefit_amount, e.benefit_frequency), 0);
  if (current + added > Number(cap.monthly_cap) + 1e-9) {
    throw conflict(
      `the household would receive ${(current + added).toFixed(2)} ${currency} a month across programs, above the cap of ` +
        `${Number(cap.monthly_cap).toFixed(2)} (now ${current.toFixed(2)} from ${
          active
            .filter((e) => e.currency === currency)
            .map((e) => `${e.code} enrollment ${e.id}`)
            .join(', ') || 'no program'
        })`,
    );
  }
}

const history = (
  trx: Trx,
  enrollmentId: string,
  from: string | null,
  to: string,
  reason: string | undefined,
  by: string,
) =>
  trx
    .insertInto('enrollment_status_history')
    .values({
      enrollment_id: enrollmentId,
      from_status: from,
      to_status: to,
      reason: reason ?? null,
      changed_by: by,
    })
    .execute();

/** Enrolls a beneficiary; answers the new enrollment's id. */
export async function enroll(db: Kysely<DB>, input: Enrollment, principal: Principal): Promise<string> {
  const householdId = await householdOf(db, input.beneficiary, principal);
  return db.transaction().execute(async (trx) => {
    await lockHousehold(trx, householdId);
    return insertEnrollment(trx, input, householdId, principal);
  });
}

async function insertEnrollment(
  trx: Trx,
  input: Enrollment,
  householdId: string,
  principal: Principal,
  ignoring?: string,
) {
  const program = await findProgramByCode(trx, input.program);
  if (!program) {
    throw notFound(`program ${input.program}`);
  }
  if (!program.active) {
    throw conflict(`program ${program.code} is closed to new enrollments`);
  }
  if (program.target_unit !== input.beneficiary.type) {
    throw badRequest(`${program.code} enrolls ${program.target_unit}s, not ${input.beneficiary.type}s`, [
      { pointer: '/beneficiary/type', detail: `must be ${program.target_unit}` },
    ]);
  }
  const benefit = { amount: input.benefit_amount ?? null, currency: input.currency ?? program.currency };
  await checkCoordination(trx, householdId, input.beneficiary, program, benefit, ignoring);
  const id = randomUUID();
  await trx
    .insertInto('enrollments')
    .values({
      id,
      program_id: program.id,
      household_id: input.beneficiary.type === 'household' ? input.beneficiary.id : null,
      individual_id: input.beneficiary.type === 'individual' ? input.beneficiary.id : null,
      program_beneficiary_id: input.program_beneficiary_id ?? null,
      status: 'enrolled',
      status_reason: input.reason ?? null,
      enrolled_at: input.enrolled_at ?? new Date().toISOString().slice(0, 10),
      benefit_amount: benefit.amount,
      currency: benefit.currency,
      payment_method: input.payment_method ?? null,
      payment_account: input.payment_account ?? null,
    })
    .execute();
  await history(trx, id, null, 'enrolled', input.reason, principal.clientName);
  return id;
}

/** The enrollment and its household, if within the caller's areas. */
async function findEnrollment(db: Kysely<DB>, id: string, principal: Principal) {
  const row = await db
    .selectFrom('enrollments as e')
    .leftJoin('individuals as i', 'i.id', 'e.individual_id')
    .select([
      'e.id',
      'e.individual_id',
      'e.household_id',
      sql<string>`coalesce(e.household_id, i.household_id)`.as('family'),
    ])
    .where('e.id', '=', id)
    .executeTakeFirst();
  if (!row || !(await findHousehold(db, row.family, principal.areaScope))) {
    throw notFound('enrollment');
  }
  return row;
}

/** Moves an enrollment to another status (suspend, resume, graduate, exit) with a reason. */
export async function transition(
  db: Kysely<DB>,
  id: string,
  action: TransitionAction,
  reason: string,
  principal: Principal,
): Promise<void> {
  const found = await findEnrollment(db, id, principal);
  await db.transaction().execute(async (trx) => {
    await lockHousehold(trx, found.family);
    const current = await trx
      .selectFrom('enrollments as e')
      .innerJoin('programs as p', 'p.id', 'e.program_id')
      .selectAll('e')
      .select('p.code')
      .where('e.id', '=', id)
      .executeTakeFirstOrThrow();
    const rule = TRANSITIONS[action];
    if (!(rule.from as readonly string[]).includes(current.status)) {
      throw conflict(
        `cannot ${action} an enrollment that is ${current.status} (allowed from ${rule.from.join(' or ')})`,
      );
    }
    if (action === 'resume') {
      const program = (await findProgramByCode(trx, current.code))!;
      const beneficiary: Beneficiary = current.individual_id
        ? { type: 'individual', id: current.individual_id }
        : { type: 'household', id: current.household_id! };
      await checkCoordination(
        trx,
        found.family,
        beneficiary,
        program,
        { amount: current.benefit_amount, currency: current.currency },
        id,
      );
    }
    await trx
      .updateTable('enrollments')
      .set({ status: rule.to, status_reason: reason })
      .where('id', '=', id)
      .execute();
    await history(trx, id, current.status, rule.to, reason, principal.clientName);
  });
}

/**
 * Moves a beneficiary from one program to another: the old enrollment exits ("transferred to …")
 * and a new one starts, in one transaction, checked as a new enrollment would be (the old place no
 * longer counts). Answers the new enrollment's id.
 */
export async function transfer(
  db: Kysely<DB>,
  id: string,
  target: Omit<Enrollment, 'beneficiary'> & { reason: string },
  principal: Principal,
): Promise<string> {
  const found = await findEnrollment(db, id, principal);
  return db.transaction().execute(async (trx) => {
    await lockHousehold(trx, found.family);
    const current = await trx
      .selectFrom('enrollments')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    if (!ACTIVE.includes(current.status)) {
      throw conflict(`cannot transfer an enrollment that is ${current.status}`);
    }
    const beneficiary: Beneficiary = current.individual_id
      ? { type: 'individual', id: current.individual_id }
      : { type: 'household', id: current.household_id! };
    const reason = `transferred to ${target.program}: ${target.reason}`;
    await trx
      .updateTable('enrollments')
      .set({ status: 'exited', status_reason: reason })
      .where('id', '=', id)
      .execute();
    await history(trx, id, current.status, 'exited', reason, principal.clientName);
    return insertEnrollment(
      trx,
      { ...target, beneficiary, reason: `transferred from enrollment ${id}: ${target.reason}` },
      found.family,
      principal,
      id,
    );
  });
}
