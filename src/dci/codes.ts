/**
 * DCI code lists (spdci/schemas, core/v1/code and extensions/ibr/v1/code) against the values our
 * registry stores. Used both ways: to read query values and to write records.
 */

/** SexCategoryEnum: the same four codes as `individuals.sex`. */
export const SEX = { male: 'male', female: 'female', other: 'other', unknown: 'unknown' } as const;

/** MaritalStatusEnum (S, M, W, D, L ...) -> `individuals.marital_status`. */
export const MARITAL_STATUS = {
  S: 'single',
  M: 'married',
  D: 'divorced',
  W: 'widowed',
  L: 'separated',
} as const;

/** AssistanceUnit: 1 member (person), 2 household, 3 family. `community` groups have no code. */
export const GROUP_TYPE = { '2': 'household', '3': 'family' } as const;

/**
 * IBR EnrollmentStatusEnum labels (1 Active, 2 Deceased, 3 Graduated, 4 Suspended) -> enrollment
 * status. The list has no "exited"; we send `Exited`, as the upstream IBR examples send labels.
 */
export const ENROLLMENT_STATUS = {
  Active: 'enrolled',
  Suspended: 'suspended',
  Graduated: 'graduated',
  Exited: 'exited',
} as const;

/** IBR BenefitTypeEnum labels -> `programs.benefit_type`. */
export const BENEFIT_TYPE = {
  Cash: 'cash',
  Voucher: 'voucher',
  'In-kind': 'in_kind',
  Training: 'training',
  'Work Opportunity': 'work_opportunity',
  Insurance: 'insurance',
} as const;

/** The DCI code for a stored value (the reverse of one of the maps above), if it has one. */
export function codeOf<M extends Record<string, string>>(
  map: M,
  stored: string | null | undefined,
): keyof M | undefined {
  if (stored === null || stored === undefined) {
    return undefined;
  }
  return (Object.keys(map) as (keyof M)[]).find((code) => map[code] === stored);
}
