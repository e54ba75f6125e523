/**
 * The social protection programmes of the synthetic registry. They are reference data, not population:
 * their ids are the same for every seed, so that demo scripts and API examples can name them.
 */
import { Rng, Weighted } from './random.ts';

export type EnrollmentStatus = 'enrolled' | 'suspended' | 'graduated' | 'exited';
export type ProgramCode = 'CCT' | 'UCT' | 'SPEN' | 'DISG' | 'FOOD' | 'PWP';

export interface Program {
  id: string;
  code: ProgramCode;
  name: string;
  description: string;
  benefitType: 'cash' | 'in_kind' | 'work_opportunity';
  targetUnit: 'household' | 'individual';
  frequency: 'monthly' | 'bimonthly' | 'quarterly';
  currency: string;
  /** Programmes sharing a group are mutually exclusive (nobody is enrolled in two of them). */
  exclusionGroups: string[];
  /** How enrollments end up, as seen in programme MIS data: most stay enrolled. */
  outcomes: Weighted<EnrollmentStatus>;
  /** Reasons recorded when an enrollment moves to each status. */
  reasons: Record<Exclude<EnrollmentStatus, 'enrolled'>, readonly string[]>;
}

type Definition = Omit<Program, 'id' | 'outcomes'> & { outcomes: [number, number, number, number] };

const outcomes = ([enrolled, suspended, graduated, exited]: Definition['outcomes']) =>
  Weighted.of<EnrollmentStatus>({ enrolled, suspended, graduated, exited });

const EXIT_REASONS = ['moved_out', 'voluntary_withdrawal', 'no_longer_eligible'];

const DEFINITIONS: Definition[] = [
  {
    code: 'CCT',
    name: 'Conditional Cash Transfer',
    description:
      'Bimonthly cash to poor households with children, conditional on school attendance and clinic visits.',
    benefitType: 'cash',
    targetUnit: 'household',
    frequency: 'bimonthly',
    currency: 'TZS',
    exclusionGroups: ['household_cash'],
    outcomes: [80, 7, 8, 5],
    reasons: {
      suspended: ['missed_school_attendance', 'missed_health_visit', 'payment_failure'],
      graduated: ['graduated_pmt_above_threshold', 'youngest_child_aged_out'],
      exited: EXIT_REASONS,
    },
  },
  {
    code: 'UCT',
    name: 'Unconditional Cash Transfer',
    description: 'Monthly cash to extremely poor and labour-constrained households.',
    benefitType: 'cash',
    targetUnit: 'household',
    frequency: 'monthly',
    currency: 'TZS',
    exclusionGroups: ['household_cash'],
    outcomes: [85, 5, 4, 6],
    reasons: {
      suspended: ['payment_failure', 'under_review'],
      graduated: ['graduated_pmt_above_threshold'],
      exited: EXIT_REASONS,
    },
  },
  {
    code: 'SPEN',
    name: 'Social Pension',
    description: 'Monthly pension for residents aged 65 and over.',
    benefitType: 'cash',
    targetUnit: 'individual',
    frequency: 'monthly',
    currency: 'TZS',
    exclusionGroups: ['individual_grant'],
    outcomes: [93, 5, 0, 2],
    reasons: {
      suspended: ['life_certificate_missing', 'payment_failure'],
      graduated: [],
      exited: ['moved_out'],
    },
  },
  {
    code: 'DISG',
    name: 'Disability Grant',
    description: 'Monthly grant for persons with a certified disability.',
    benefitType: 'cash',
    targetUnit: 'individual',
    frequency: 'monthly',
    currency: 'TZS',
    exclusionGroups: ['individual_grant'],
    outcomes: [88, 6, 0, 6],
    reasons: { suspended: ['reassessment_due'], graduated: [], exited: ['no_longer_eligible', 'moved_out'] },
  },
  {
    code: 'FOOD',
    name: 'Food Assistance',
    description: 'Monthly food basket (in kind or by voucher) for food-insecure households.',
    benefitType: 'in_kind',
    targetUnit: 'household',
    frequency: 'monthly',
    currency: 'TZS',
    exclusionGroups: [],
    outcomes: [80, 4, 6, 10],
    reasons: {
      suspended: ['distribution_missed', 'under_review'],
      graduated: ['food_security_improved'],
      exited: EXIT_REASONS,
    },
  },
  {
    code: 'PWP',
    name: 'Public Works Programme',
    description: 'Paid seasonal work for one working-age member of poor households.',
    benefitType: 'work_opportunity',
    targetUnit: 'individual',
    frequency: 'monthly',
    currency: 'TZS',
    exclusionGroups: [],
    outcomes: [70, 5, 15, 10],
    reasons: {
      suspended: ['absent_from_work'],
      graduated: ['completed_cycle'],
      exited: ['voluntary_withdrawal', 'no_longer_eligible'],
    },
  },
];

// A fixed stream, independent of the population seed: programme ids never change between seeds.
const idSource = new Rng(0x5eed, 0x9a);

/** The programmes, in a fixed order with fixed ids. */
export const PROGRAMS: readonly Program[] = DEFINITIONS.map((definition) => ({
  ...definition,
  id: idSource.uuid(),
  outcomes: outcomes(definition.outcomes),
}));

/** The programme with this code. */
export const programOf = (code: ProgramCode): Program => PROGRAMS.find((program) => program.code === code)!;
