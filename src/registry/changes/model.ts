/**
 * A change a source (an ODK submission, a pull from ODK Central) asks of the registry: register a
 * household with its members, or update one. Values arrive as text, as forms give them; validation
 * (validate.ts) checks and converts them, so every source is held to the same rules.
 */

export interface HouseholdChange {
  admin_area_code?: string;
  address_line?: string;
  locality?: string;
  latitude?: string;
  longitude?: string;
  dwelling_type?: string;
  water_source?: string;
  has_electricity?: string;
  group_type?: string;
}

export interface MemberChange {
  /** An existing member to update (updates only); absent: a new member. */
  person_id?: string;
  given_name?: string;
  middle_name?: string;
  family_name?: string;
  sex?: string;
  birth_date?: string;
  relationship_to_head?: string;
  phone?: string;
  marital_status?: string;
  disability?: string;
  disability_type?: string;
  identifiers: { type: string; value: string }[];
  /** Purposes the member consents to (codes of registry/consent/purposes.ts), recorded when applied. */
  consents?: string[];
}

export interface RegistryChange {
  /** The household to update; absent: a registration. */
  household_id?: string;
  /** The consent answer, when the source asks for it. */
  consent?: boolean | undefined;
  household: HouseholdChange;
  members: MemberChange[];
}

/**
 * Something found in a change: `error` (it cannot be applied: rejected), or `review` (a possible
 * duplicate: a reviewer decides). `record_id` names the existing record it concerns.
 */
export interface Issue {
  code: string;
  severity: 'error' | 'review';
  pointer: string;
  detail: string;
  record_id?: string;
}
