import type { EnrollmentView, HouseholdView, IndividualView } from '#registry/schemas';
import { BENEFIT_TYPE, codeOf, ENROLLMENT_STATUS } from './codes.ts';
import { compact, dateTime, groupRecord, memberRecord, type DciRecord } from './records.ts';

/**
 * Enrollments as IBR Beneficiary records (spdci extensions/ibr/v1/data Beneficiary, Programme,
 * Benefit): the assistance unit (1 member, 2 household) with the member, or the household with its
 * head only, the programme, enrollment date and status, status change dates and the benefit. Built
 * from policy-filtered views, like records.ts.
 */

export interface BeneficiaryParts {
  enrollment: EnrollmentView;
  program: { benefit_type: string; benefit_frequency: string | null };
  member?: IndividualView | undefined;
  household?: HouseholdView | undefined;
  head?: IndividualView | undefined;
}

export function beneficiaryRecord({
  enrollment,
  program,
  member,
  household,
  head,
}: BeneficiaryParts): DciRecord {
  const individual = enrollment.beneficiary.type === 'individual';
  return compact({
    assistance_unit: individual ? '1' : '2',
    member: member ? memberRecord(member) : undefined,
    group: household ? groupRecord(household, head ? [head] : [], false) : undefined,
    programme_identifier: [
      { programme_identifier: enrollment.program.code, programme_name: enrollment.program.name },
    ],
    enrollment_date: dateTime(enrollment.enrolled_at),
    enrollment_status: codeOf(ENROLLMENT_STATUS, enrollment.status),
    status_change_date: enrollment.history.map((change) => change.changed_at),
    benefits: [benefitOf(enrollment, program)],
    // The programme's own beneficiary number (class identifier, absent when hidden).
    additional_attributes: enrollment.program_beneficiary_id
      ? [`program_beneficiary_id:${enrollment.program_beneficiary_id}`]
      : undefined,
  });
}

/** The current benefit: type, amount and currency as the upstream examples write it ("USD 50"), last payment. */
function benefitOf(enrollment: EnrollmentView, program: BeneficiaryParts['program']): DciRecord {
  const amount = enrollment.benefit_amount;
  return compact({
    benefit_type: codeOf(BENEFIT_TYPE, program.benefit_type),
    benefit_value: amount === null ? undefined : `${enrollment.currency ?? ''} ${amount}`.trim(),
    benefit_date: dateTime(enrollment.last_payment_at),
    benefit_frequency: program.benefit_frequency,
  });
}
