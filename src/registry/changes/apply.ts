import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '#platform/db/types';
import { recordConsents, type NewConsent } from '#registry/consent/queries';
import type { Checked, MemberValues } from './validate.ts';

/**
 * Writes a validated change in the caller's transaction: a registration inserts the household, its
 * members and their identifiers; an update changes the fields the change gives, updates the members
 * it names and adds the others. The consents members gave are recorded (one in force already stays).
 * Answers the household's id.
 */

type Writer = Transaction<DB> | Kysely<DB>;

/** How the members' consents reached the registry: the change's source is their evidence. */
export type ConsentOrigin = Omit<NewConsent, 'individualId' | 'purpose'>;

export interface ApplyTarget {
  householdId?: string | undefined;
  householdNumber: string;
  /** The household's consent to being registered (registrations only). */
  consent: boolean;
  consentOrigin: ConsentOrigin;
}

const memberColumns = ({ person_id: _id, identifiers: _ids, consents: _c, ...columns }: MemberValues) =>
  columns;

const recordMemberConsents = (trx: Writer, personId: string, member: MemberValues, origin: ConsentOrigin) =>
  recordConsents(
    trx,
    member.consents.map((purpose) => ({ ...origin, individualId: personId, purpose })),
  );

async function addIdentifiers(trx: Writer, personId: string, identifiers: MemberValues['identifiers']) {
  if (identifiers.length === 0) {
    return;
  }
  await trx
    .insertInto('identifiers')
    .values(
      identifiers.map((x) => ({
        individual_id: personId,
        id_type: x.type,
        id_value: x.value,
        issued_by: null,
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
}

async function insertMember(
  trx: Writer,
  householdId: string,
  member: MemberValues,
  consent: boolean,
): Promise<string> {
  const id = randomUUID();
  const columns = memberColumns(member);
  await trx
    .insertInto('individuals')
    .values({
      ...columns,
      id,
      household_id: householdId,
      given_name: columns.given_name!,
      family_name: columns.family_name!,
      sex: columns.sex!,
      relationship_to_head: columns.relationship_to_head!,
      consent_data_sharing: consent,
    })
    .execute();
  await addIdentifiers(trx, id, member.identifiers);
  return id;
}

export async function applyChange(trx: Writer, checked: Checked, target: ApplyTarget): Promise<string> {
  let householdId = target.householdId;
  if (householdId === undefined) {
    householdId = randomUUID();
    await trx
      .insertInto('households')
      .values({
        ...checked.household,
        id: householdId,
        household_number: target.householdNumber,
        admin_area_code: checked.household.admin_area_code!,
      })
      .execute();
  } else if (Object.keys(checked.household).length > 0) {
    await trx.updateTable('households').set(checked.household).where('id', '=', householdId).execute();
  }
  for (const member of checked.members) {
    const personId = member.person_id ?? (await insertMember(trx, householdId, member, target.consent));
    if (member.person_id !== undefined) {
      const columns = memberColumns(member);
      if (Object.keys(columns).length > 0) {
        await trx.updateTable('individuals').set(columns).where('id', '=', personId).execute();
      }
      await addIdentifiers(trx, personId, member.identifiers);
    }
    await recordMemberConsents(trx, personId, member, target.consentOrigin);
  }
  return householdId;
}
