/**
 * Programme enrollments of the synthetic registry, driven by the household data the way targeting rules
 * are: poorer households are more likely to receive cash and food, the old a pension, the disabled a
 * grant. Cash programmes exclude each other (CCT or UCT, pension or disability grant), food assistance
 * overlaps with cash. Each enrollment carries the status history that leads to its final status.
 */
import { AS_OF, dayOf } from './calendar.ts';
import type { Household } from './households.ts';
import type { Person } from './members.ts';
import { bankAccount } from './numbers.ts';
import { type EnrollmentStatus, type Program, type ProgramCode, programOf, PROGRAMS } from './programs.ts';
import type { Rng } from './random.ts';

export interface Enrollment {
  id: string;
  program: Program;
  householdId: string | null;
  individualId: string | null;
  beneficiaryId: string;
  status: EnrollmentStatus;
  reason: string | null;
  enrolledDay: number;
  amount: number;
  paymentMethod: 'bank' | 'mobile_money' | 'cash' | 'voucher' | null;
  paymentAccount: string | null;
  lastPaymentDay: number | null;
  /** The status history, oldest first; the last change gives status, reason and updated_at. */
  changes: StatusChange[];
}

export interface StatusChange {
  from: EnrollmentStatus | null;
  to: EnrollmentStatus;
  reason: string | null;
  day: number;
  /** Second of the day (UTC) the change was recorded: office hours. */
  second: number;
}

/** The first programme intake. */
const PROGRAMS_START = dayOf('2019-03-01');
const CYCLE_DAYS: Record<Program['frequency'], number> = { monthly: 30, bimonthly: 61, quarterly: 91 };

interface Target {
  household: Household;
  /** Alive members under 18, for child-linked amounts. */
  children: number;
  /** Whether an alive member is of working age and not disabled (else the household is labour-constrained). */
  canWork: boolean;
  /** Who receives the payment (account holder). */
  recipient: Person;
  /** The enrolled person, for individual programmes. */
  person?: Person;
}

function householdTarget(household: Household, members: readonly Person[]): Target {
  const alive = members.filter((member) => member.deceasedDay === null);
  // Cash goes to the mother where there is one, as most cash transfer programmes prescribe.
  const spouse = alive.find((member) => member.relationship === 'SPS');
  return {
    household,
    children: alive.filter((member) => member.age < 18).length,
    canWork: alive.some((member) => member.age >= 18 && member.age < 65 && member.disability === null),
    recipient: spouse?.sex === 'female' ? spouse : members[0]!,
  };
}

/** Enrolls households and persons; numbers beneficiaries per programme (CCT-000001, ...). */
export class Enroller {
  readonly #counters = new Map<ProgramCode, number>(PROGRAMS.map((program) => [program.code, 0]));

  /** The enrollments of one household and its members. */
  enroll(rng: Rng, household: Household, members: readonly Person[]): Enrollment[] {
    const earliest = Math.max(household.registeredDay + 14, PROGRAMS_START);
    if (household.status !== 'active' || earliest > AS_OF - 30) {
      return [];
    }
    const target = householdTarget(household, members);
    return [
      ...this.#householdPrograms(rng, target, earliest),
      ...this.#personPrograms(rng, target, members, earliest),
    ];
  }

  /** Cash (CCT or UCT, never both) for poor households, food assistance for some, with or without cash. */
  #householdPrograms(rng: Rng, target: Target, earliest: number): Enrollment[] {
    const { pmt } = target.household;
    const cash: ProgramCode | null =
      target.children > 0 && pmt < 35 && rng.chance(0.65)
        ? 'CCT'
        : (pmt < 28 || (!target.canWork && pmt < 45)) && rng.chance(0.55)
          ? 'UCT'
          : null;
    const enrollments = cash ? [this.#enrollOne(rng, programOf(cash), target, earliest)] : [];
    if (pmt < 38 && rng.chance(cash ? 0.35 : 0.25)) {
      enrollments.push(this.#enrollOne(rng, programOf('FOOD'), target, earliest));
    }
    return enrollments;
  }

  /** Pension, disability grant or public works, person by person (public works: one per household). */
  #personPrograms(rng: Rng, target: Target, members: readonly Person[], earliest: number): Enrollment[] {
    const enrollments: Enrollment[] = [];
    let publicWorks = false;
    for (const person of members) {
      const code = individualProgram(rng, person, target.household.pmt, publicWorks);
      // Persons who died before they could have been enrolled are left out.
      if (code && (person.deceasedDay === null || person.deceasedDay > earliest + 1)) {
        publicWorks ||= code === 'PWP';
        const personal = { ...target, recipient: person, person };
        enrollments.push(this.#enrollOne(rng, programOf(code), personal, earliest));
      }
    }
    return enrollments;
  }

  #enrollOne(rng: Rng, program: Program, target: Target, earliest: number): Enrollment {
    const deceasedDay = target.person?.deceasedDay ?? null;
    const enrolledDay = rng.int(earliest, Math.min(AS_OF - 30, (deceasedDay ?? AS_OF) - 1));
    const changes = history(rng, program, enrolledDay, deceasedDay);
    const last = changes.at(-1)!;
    const [paymentMethod, paymentAccount] = payment(rng, program, target.recipient);
    const counter = this.#counters.get(program.code)! + 1;
    this.#counters.set(program.code, counter);
    return {
      id: rng.uuid(),
      program,
      householdId: target.person ? null : target.household.id,
      individualId: target.person?.id ?? null,
      beneficiaryId: `${program.code}-${String(counter).padStart(6, '0')}`,
      status: last.to,
      reason: last.to === 'enrolled' ? null : last.reason,
      enrolledDay,
      amount: amountOf(program, target),
      paymentMethod,
      paymentAccount,
      lastPaymentDay: lastPayment(rng, program, enrolledDay, last),
      changes,
    };
  }
}

function individualProgram(rng: Rng, person: Person, pmt: number, publicWorks: boolean): ProgramCode | null {
  if (person.age >= 65) {
    return rng.chance(0.75) ? 'SPEN' : null;
  }
  if (person.disability !== null) {
    return rng.chance(0.6) ? 'DISG' : null;
  }
  const workingAge = person.age >= 18 && person.age <= 60 && person.deceasedDay === null;
  return workingAge && !publicWorks && pmt < 45 && rng.chance(0.12) ? 'PWP' : null;
}

/**
 * The status history: enrolled first, then the changes leading to the drawn final status. Beneficiaries
 * who died are mostly exited for that reason; the rest keep being paid, a case fraud checks look for.
 */
function history(
  rng: Rng,
  program: Program,
  enrolledDay: number,
  deceasedDay: number | null,
): StatusChange[] {
  const officeHours = () => rng.int(8 * 3600, 17 * 3600);
  const changes: StatusChange[] = [
    { from: null, to: 'enrolled', reason: 'enrolled', day: enrolledDay, second: officeHours() },
  ];
  const first = Math.max(enrolledDay + 30, (deceasedDay ?? 0) + 15);
  const last = AS_OF - 1;
  if (first >= last) {
    return changes;
  }
  const change = (to: EnrollmentStatus, reason: string, day: number) =>
    changes.push({ from: changes.at(-1)!.to, to, reason, day, second: officeHours() });
  if (deceasedDay !== null) {
    if (rng.chance(0.85)) {
      change('exited', 'deceased', rng.int(first, Math.max(first, Math.min(last, deceasedDay + 120))));
    }
    return changes;
  }
  const final = program.outcomes.draw(rng);
  const suspendFirst = final === 'enrolled' ? rng.chance(0.06) : final !== 'suspended' && rng.chance(0.2);
  const day = rng.int(first, last - 1);
  if (suspendFirst) {
    change('suspended', rng.pick(program.reasons.suspended), day);
    const then = rng.int(day + 1, last);
    if (final === 'enrolled') {
      change('enrolled', 'reinstated', then);
    } else {
      change(final, rng.pick(program.reasons[final]), then);
    }
  } else if (final !== 'enrolled') {
    change(final, rng.pick(program.reasons[final]), day);
  }
  return changes;
}

function payment(
  rng: Rng,
  program: Program,
  recipient: Person,
): [Enrollment['paymentMethod'], string | null] {
  if (program.benefitType === 'in_kind') {
    return rng.chance(0.6) ? ['voucher', `VCH-${rng.digits(10)}`] : [null, null];
  }
  const roll = rng.float();
  if (recipient.phone !== null && roll < 0.65) {
    return ['mobile_money', recipient.phone];
  }
  return roll < (recipient.phone !== null ? 0.8 : 0.3) ? ['bank', bankAccount(rng)] : ['cash', null];
}

/** Benefit levels in Tanzanian shillings per payment, close to those of real programmes in the region. */
function amountOf(program: Program, target: Target): number {
  switch (program.code) {
    case 'CCT':
      return 25_000 + 7_500 * Math.min(target.children, 4);
    case 'UCT':
      return 40_000;
    case 'SPEN':
      return 50_000;
    case 'DISG':
      return 45_000;
    case 'FOOD':
      return 30_000;
    case 'PWP':
      return 75_000;
  }
}

/** The last payment before the final status took effect (null if none fell due yet). */
function lastPayment(rng: Rng, program: Program, enrolledDay: number, last: StatusChange): number | null {
  const cycle = CYCLE_DAYS[program.frequency];
  const until = last.to === 'enrolled' ? AS_OF : last.day - 1;
  const day = until - rng.int(0, cycle - 1);
  return day >= enrolledDay + 7 ? day : null;
}
