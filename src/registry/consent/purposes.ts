/**
 * The purposes a person can consent to, and the channels consent arrives through. DCI searches state
 * their purpose as a code from this list (`search_criteria.consent.purpose.code`, "from a fixed set,
 * documented at refUri" in the DCI spec): GET /api/v1/consent/purposes and docs/consent.md publish it.
 * A purpose is a legal decision of the registry, so the list changes with a release, not at run time.
 */

export interface ConsentPurpose {
  code: string;
  description: string;
}

export const CONSENT_PURPOSES: readonly ConsentPurpose[] = [
  {
    code: 'eligibility',
    description:
      'Checking eligibility for social protection programmes (targeting and verification of the data).',
  },
  { code: 'cash_transfer', description: 'Enrollment in and payment of cash transfer programmes.' },
  {
    code: 'service_referral',
    description: 'Referral to social, health and education services, and case management.',
  },
  {
    code: 'emergency_response',
    description: 'Support in an emergency or a disaster (shock-responsive social protection).',
  },
  { code: 'contact', description: 'Being contacted by programmes by phone or SMS about benefits.' },
  {
    code: 'research',
    description:
      'Research and evaluation studies beyond the de-identified statistics the registry publishes.',
  },
];

export const PURPOSE_CODES: readonly string[] = CONSENT_PURPOSES.map((purpose) => purpose.code);

/**
 * How a consent (or its withdrawal) reached the registry; the database checks the same list
 * (migration 0030). `import`: loaded from another system, recorded without details.
 */
export const CONSENT_CHANNELS = ['odk', 'paper', 'in_person', 'phone', 'self_service', 'import'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

export const isRecognisedPurpose = (code: string): boolean => PURPOSE_CODES.includes(code);

/** What to tell a caller who named a purpose the registry does not recognise. */
export const unrecognisedPurpose = (code: string): string =>
  `"${code}" is not a purpose this registry recognises: one of ${PURPOSE_CODES.join(', ')} ` +
  '(GET /api/v1/consent/purposes)';
