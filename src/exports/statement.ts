import { Type } from '@sinclair/typebox';
import { PURPOSE } from '#platform/http/access-control';
import { StringEnum } from '#platform/http/kit';

/**
 * What every export states (GDPR): why the data is exported, and the lawful basis of art. 6(1).
 * Both are recorded in the audit entries of the export.
 */

export const LEGAL_BASES = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interests',
] as const;

export const LegalBasis = StringEnum(LEGAL_BASES, {
  description: 'GDPR art. 6(1) lawful basis of the export',
});

export const Purpose = Type.String({
  pattern: PURPOSE.source,
  description: 'Why the data is exported (recorded in the audit trail)',
});

export const isLegalBasis = (value: string): boolean => (LEGAL_BASES as readonly string[]).includes(value);
export const isPurpose = (value: string): boolean => PURPOSE.test(value);
