/**
 * The consents of the synthetic registry (docs/consent.md), so that DCI clients that receive consented
 * records only find some in the demo: adults who agreed at registration to their data being shared
 * consent to some purposes each, those who agreed to be contacted to `contact`; now and then one of
 * them was withdrawn later (kept, as the registry keeps withdrawals). Children have none: the
 * consent filter looks for the person's own. Consent was given at registration, on paper until the
 * field teams moved to ODK Collect.
 */
import { AS_OF, dayOf } from './calendar.ts';
import type { Person } from './members.ts';
import type { Rng } from './random.ts';

export interface SeedConsent {
  id: string;
  person: Person;
  purpose: string;
  channel: 'paper' | 'odk';
  withdrawnDay: number | null;
}

/** Of the adults who agreed to sharing, the share consenting to each purpose (registry/consent/purposes.ts). */
const SHARES: readonly (readonly [string, number])[] = [
  ['eligibility', 0.9],
  ['cash_transfer', 0.7],
  ['service_referral', 0.45],
  ['emergency_response', 0.6],
  ['research', 0.15],
];
const WITHDRAWN = 0.03;
const ODK_FROM = dayOf('2021-07-01');

/** The consents a person gave, drawn from the consent stream (other tables' draws stay as they were). */
export function consentsOf(rng: Rng, person: Person): SeedConsent[] {
  if (person.age < 18) {
    return [];
  }
  const purposes = person.consentSharing ? SHARES.filter(([, share]) => rng.chance(share)) : [];
  const codes = [...purposes.map(([code]) => code), ...(person.consentContact ? ['contact'] : [])];
  const channel = person.registeredDay < ODK_FROM ? 'paper' : 'odk';
  return codes.map((purpose) => ({
    id: rng.uuid(),
    person,
    purpose,
    channel,
    withdrawnDay: rng.chance(WITHDRAWN) ? rng.int(Math.min(person.registeredDay + 1, AS_OF), AS_OF) : null,
  }));
}
