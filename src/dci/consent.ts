import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { purposeRefusal } from '#security/policy/rules';
import { isRecognisedPurpose, unrecognisedPurpose } from '#registry/consent/purposes';
import { searchRejection } from './errors.ts';
import type { Entity, Where } from './query/attributes.ts';
import { saveSettingsColumns } from './settings-store.ts';

/**
 * Consent and purpose (DCI `search_criteria.consent` / `authorize`). Every search states, or may
 * state, the purpose of the access (`purpose.code`); it is recorded in the audit entry with the ids
 * of the records returned. A client whose settings require consent must state a purpose and
 * receives only records whose subjects consented to it: a person, their own consent; a household
 * (and its members), the consent its head gave on its behalf, as at registration; a beneficiary,
 * the enrolled person's, or the enrolled household head's.
 */

/** The `consent` and `authorize` objects of a request: the spec gives them no schema beyond "object". */
export interface StatedPurpose {
  consent?: { purpose?: { code?: unknown } };
  authorize?: { purpose?: { code?: unknown } };
}

const PURPOSE = /^[A-Za-z0-9_.:/-]{1,100}$/;

/** The purpose a request states: the consent's purpose code, else the authorisation's. */
export function statedPurpose(criteria: StatedPurpose): string | undefined {
  for (const code of [criteria.consent?.purpose?.code, criteria.authorize?.purpose?.code]) {
    if (code === undefined) {
      continue;
    }
    if (typeof code !== 'string' || !PURPOSE.test(code)) {
      throw searchRejection(
        'rjct.search_criteria.invalid',
        'purpose.code is 1 to 100 letters, digits or _.:/- (a code from the purposes the registry publishes)',
      );
    }
    return code;
  }
  return undefined;
}

/**
 * The purpose of an access checked against the client's data sharing agreement: the same check
 * access control makes of X-Purpose (security/policy/rules.ts). Refused: the item is rejected.
 */
export function agreedPurpose(principal: Principal, purpose: string | undefined): string | undefined {
  const refused = purposeRefusal(principal.purposes, purpose);
  if (refused) {
    throw searchRejection(
      'rjct.search_criteria.invalid',
      refused.missing
        ? `${refused.detail} (state it as the consent or authorize purpose.code)`
        : refused.detail,
    );
  }
  return purpose;
}

/** Whether this client may receive records only with their subjects' consent. */
export async function consentRequired(db: Kysely<DB>, clientId: string): Promise<boolean> {
  const row = await db
    .selectFrom('dci_client_settings')
    .select('consent_required')
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return row?.consent_required ?? false;
}

export async function saveConsentRequired(
  db: Kysely<DB>,
  clientId: string,
  required: boolean,
  updatedBy: string | undefined,
): Promise<void> {
  await saveSettingsColumns(db, clientId, { consent_required: required }, updatedBy);
}

/**
 * The condition a search adds for a client that needs consent. Without a stated purpose, or with one
 * nobody can consent to (consents are recorded for the registry's purposes only), the search is
 * rejected rather than answered with nothing: the caller learns what to fix.
 */
export function consentCondition(entity: Entity, purpose: string | undefined): Where {
  if (purpose === undefined) {
    throw searchRejection(
      'rjct.search_criteria.invalid',
      'this client receives records only with their subjects’ consent: state search_criteria.consent.purpose.code',
    );
  }
  if (!isRecognisedPurpose(purpose)) {
    throw searchRejection(
      'rjct.search_criteria.invalid',
      `consent.purpose.code ${unrecognisedPurpose(purpose)}`,
    );
  }
  return sql<SqlBool>`exists (select 1 from consents c where c.individual_id = ${consentingPerson(entity)}
    and c.purpose = ${purpose} and c.withdrawn_at is null)`;
}

/** Whose consent covers a record of this entity (aliases of query/compile.ts ALIAS). */
function consentingPerson(entity: Entity) {
  const headOf = (household: ReturnType<typeof sql.ref>) =>
    sql`(select hd.id from individuals hd where hd.household_id = ${household} and hd.relationship_to_head = 'SELF' limit 1)`;
  switch (entity) {
    case 'person':
      return sql.ref('i.id');
    case 'group':
      return headOf(sql.ref('h.id'));
    case 'beneficiary':
      return sql`coalesce(e.individual_id, ${headOf(sql.ref('e.household_id'))})`;
  }
}
