import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { lookupRefusal } from '#registry/views';
import { ENROLLMENT_STATUS } from '../codes.ts';
import { DciError } from '../errors.ts';

/**
 * IBR `/registry/sync/enrollment/updates` in the direction the spec describes: a programme system
 * reports its beneficiaries to the IBR (`enrolled_updates.beneficiaries`, the spec's own example).
 * Each beneficiary is applied on its own, in its own transaction, and answered with its own status:
 * the person is found by an identifier the registry holds, the programme by its code; the enrollment
 * is created, or its status changed (with a status history row). A programme whose target unit is
 * the household enrolls the person's household. Nothing is created for a person the registry does not
 * know, and an enrollment that would break a programme exclusion group is refused (IBR-033).
 */

/** EnrollmentStatusEnum: codes 1 to 4, or their labels. Deceased ends the enrollment. */
const STATUS_OF: Record<string, { status: string; reason?: string }> = {
  '1': { status: ENROLLMENT_STATUS.Active },
  '2': { status: ENROLLMENT_STATUS.Exited, reason: 'deceased' },
  '3': { status: ENROLLMENT_STATUS.Graduated },
  '4': { status: ENROLLMENT_STATUS.Suspended },
  Active: { status: ENROLLMENT_STATUS.Active },
  Deceased: { status: ENROLLMENT_STATUS.Exited, reason: 'deceased' },
  Graduated: { status: ENROLLMENT_STATUS.Graduated },
  Suspended: { status: ENROLLMENT_STATUS.Suspended },
  Exited: { status: ENROLLMENT_STATUS.Exited },
};

/** Statuses in which an enrollment counts against the programme exclusion groups. */
const ONGOING = [ENROLLMENT_STATUS.Active, ENROLLMENT_STATUS.Suspended];

export interface PushedItem {
  reference_id: string;
  timestamp: string;
  status: 'succ' | 'rjct';
  status_reason_message?: string;
}

interface Identifier {
  identifier_type?: unknown;
  identifier_value?: unknown;
}

interface Beneficiary {
  member?: { member_identifier?: Identifier[]; demographic_info?: { identifier?: Identifier[] } };
  programme_identifier?: { programme_identifier?: unknown }[];
  enrollment_date?: unknown;
  enrollment_status?: unknown;
  benefits?: { benefit_value?: unknown }[];
}

class Refusal extends Error {}

/**
 * Only a client allowed to write the registry may report enrollments, and, since each beneficiary is
 * found by its identifier (found or not tells the identifier), only one that may search by it.
 */
export function assertMayPush(principal: Principal): void {
  if (!principal.scopes.has('registry:write')) {
    throw new DciError(
      'err.request.forbidden',
      'reporting beneficiaries (enrolled_updates.beneficiaries) needs the registry:write permission',
    );
  }
  const refused = lookupRefusal(principal, 'identifier', 'member identifier');
  if (refused) {
    throw new DciError('err.request.forbidden', refused);
  }
}

export async function applyBeneficiaries(
  db: Kysely<DB>,
  beneficiaries: unknown[],
  principal: Principal,
  now: () => Date,
): Promise<{ items: PushedItem[]; enrollmentIds: string[] }> {
  const items: PushedItem[] = [];
  const enrollmentIds: string[] = [];
  for (const [index, beneficiary] of beneficiaries.entries()) {
    const timestamp = now().toISOString();
    try {
      const id = await db
        .transaction()
        .execute((trx) => applyOne(trx, beneficiary as Beneficiary, principal.clientName));
      enrollmentIds.push(id);
      items.push({ reference_id: id, timestamp, status: 'succ' });
    } catch (error) {
      if (!(error instanceof Refusal)) {
        throw error;
      }
      items.push({
        reference_id: `beneficiary-${index + 1}`,
        timestamp,
        status: 'rjct',
        status_reason_message: error.message,
      });
    }
  }
  return { items, enrollmentIds };
}

/** Applies one beneficiary; returns the enrollment id, or throws a Refusal saying why not. */
async function applyOne(trx: Transaction<DB>, b: Beneficiary, by: string): Promise<string> {
  const person = await findPerson(trx, identifiersOf(b));
  const program = await findProgram(trx, b.programme_identifier?.[0]?.programme_identifier);
  const wanted = STATUS_OF[String(b.enrollment_status ?? '1')];
  if (!wanted) {
    throw new Refusal(
      `enrollment_status ${String(b.enrollment_status)} is not one of 1-4 (EnrollmentStatusEnum)`,
    );
  }
  const unit =
    program.target_unit === 'household'
      ? { household_id: person.household_id, individual_id: null }
      : { household_id: null, individual_id: person.id };
  const existing = await trx
    .selectFrom('enrollments')
    .select(['id', 'status'])
    .where('program_id', '=', program.id)
    .where(
      unit.individual_id ? 'individual_id' : 'household_id',
      '=',
      unit.individual_id ?? unit.household_id,
    )
    .forUpdate()
    .executeTakeFirst();
  if ((ONGOING as string[]).includes(wanted.status)) {
    await assertNotExcluded(trx, unit, program);
  }
  const id = existing?.id ?? randomUUID();
  if (!existing) {
    await trx
      .insertInto('enrollments')
      .values({
        id,
        program_id: program.id,
        ...unit,
        status: wanted.status,
        status_reason: wanted.reason ?? null,
        enrolled_at: dateOf(b.enrollment_date),
        benefit_amount: amountOf(b.benefits?.[0]?.benefit_value),
        currency: program.currency,
      })
      .execute();
  } else if (existing.status !== wanted.status) {
    await trx
      .updateTable('enrollments')
      .set({ status: wanted.status, status_reason: wanted.reason ?? null, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }
  if (existing?.status !== wanted.status) {
    await trx
      .insertInto('enrollment_status_history')
      .values({
        enrollment_id: id,
        from_status: existing?.status ?? null,
        to_status: wanted.status,
        reason: wanted.reason ?? 'reported by the programme (DCI enrollment/updates)',
        changed_by: by,
      })
      .execute();
  }
  return id;
}

const identifiersOf = (b: Beneficiary): Identifier[] => [
  ...(b.member?.member_identifier ?? []),
  ...(b.member?.demographic_info?.identifier ?? []),
];

async function findPerson(trx: Transaction<DB>, ids: Identifier[]) {
  const usable = ids.filter(
    (id): id is { identifier_type: string; identifier_value: string } =>
      typeof id.identifier_type === 'string' && typeof id.identifier_value === 'string',
  );
  if (usable.length === 0) {
    throw new Refusal('member.member_identifier names no identifier (identifier_type, identifier_value)');
  }
  for (const id of usable) {
    const person = await trx
      .selectFrom('identifiers as x')
      .innerJoin('individuals as i', 'i.id', 'x.individual_id')
      .select(['i.id', 'i.household_id'])
      .where('x.id_type', '=', id.identifier_type)
      .where('x.id_value', '=', id.identifier_value)
      .executeTakeFirst();
    if (person) {
      return person;
    }
  }
  throw new Refusal('no person of the registry holds the identifiers given');
}

async function findProgram(trx: Transaction<DB>, code: unknown) {
  if (typeof code !== 'string' || code === '') {
    throw new Refusal('programme_identifier[0].programme_identifier (the programme code) is missing');
  }
  const program = await trx
    .selectFrom('programs')
    .select(['id', 'code', 'target_unit', 'currency', 'exclusion_groups'])
    .where('code', '=', code)
    .executeTakeFirst();
  if (!program) {
    throw new Refusal(`no programme ${code.slice(0, 60)} in the registry`);
  }
  return program;
}

async function assertNotExcluded(
  trx: Transaction<DB>,
  unit: { household_id: string | null; individual_id: string | null },
  program: { id: string; exclusion_groups: string[] },
): Promise<void> {
  if (program.exclusion_groups.length === 0) {
    return;
  }
  const clash = await trx
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .select('p.code')
    .where(
      unit.individual_id ? 'e.individual_id' : 'e.household_id',
      '=',
      unit.individual_id ?? unit.household_id,
    )
    .where('e.status', 'in', ONGOING)
    .where('p.id', '<>', program.id)
    .where(sql<boolean>`p.exclusion_groups && ${sql.val(program.exclusion_groups)}::text[]`)
    .executeTakeFirst();
  if (clash) {
    throw new Refusal(`already enrolled in ${clash.code}, which excludes this programme`);
  }
}

function dateOf(value: unknown): string {
  const date = typeof value === 'string' ? value.slice(0, 10) : '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
    throw new Refusal('enrollment_date must be an ISO 8601 date');
  }
  return date;
}

function amountOf(value: unknown): number | null {
  if (value === undefined) {
    return null;
  }
  const amount = Number(value);
  if (!Number.isFinite(amount) || amount < 0) {
    throw new Refusal('benefits[0].benefit_value must be a non-negative amount');
  }
  return amount;
}
