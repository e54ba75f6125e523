import type { Principal } from '#platform/auth/principal';
import { maySee } from '#platform/auth/principal';
import type { FieldClass } from '#platform/auth/roles';
import { forbidden } from '#platform/problem';
import type { EnrollmentTable, HouseholdTable, IndividualTable } from '#platform/db/types';
import type { Selectable } from 'kysely';
import type { EnrollmentView, HouseholdView, IndividualView } from './schemas.ts';

/**
 * The field policy, applied where records are read: each sensitive field belongs to a class, and a
 * principal's role hides whole classes (platform/auth/roles.ts). Fields not listed are not personal.
 */
export const fieldClassOf = {
  household: {
    // The registry's number of the household, written on its registration card: an identifier.
    household_number: 'identifier',
    location: 'location',
    address_line: 'address',
    locality: 'address',
    pmt_score: 'poverty_score',
    income_band: 'poverty_score',
  },
  individual: {
    given_name: 'name',
    middle_name: 'name',
    family_name: 'name',
    // The exact dates of a person's life: birth and death (de-identified views keep the birth
    // year and is_deceased).
    birth_date: 'birth_date',
    deceased_date: 'birth_date',
    phone: 'contact',
    identifiers: 'identifier',
  },
  enrollment: {
    payment_account: 'payment_account',
    program_beneficiary_id: 'identifier',
  },
} as const satisfies Record<string, Record<string, FieldClass>>;

type Entity = keyof typeof fieldClassOf;

/** The fields of an entity the principal may not see (worked out once per principal and entity). */
const hiddenCache = new WeakMap<Principal, Partial<Record<Entity, ReadonlySet<string>>>>();
function hiddenFieldsOf(entity: Entity, principal: Principal): ReadonlySet<string> {
  const known = hiddenCache.get(principal) ?? {};
  let hidden = known[entity];
  if (!hidden) {
    const classes: Record<string, FieldClass> = fieldClassOf[entity];
    hidden = new Set(Object.keys(classes).filter((field) => !maySee(principal, classes[field])));
    hiddenCache.set(principal, { ...known, [entity]: hidden });
  }
  return hidden;
}

/**
 * Removes the fields the principal may not see. Records are shaped by the thousand for a page of
 * households: the view is returned as it is when nothing of it is hidden, and otherwise copied
 * without the hidden fields (no `delete`, which would leave a slow object behind).
 */
function applyPolicy<T extends object>(entity: Entity, view: T, principal: Principal): T {
  const hidden = hiddenFieldsOf(entity, principal);
  if (hidden.size === 0) {
    return view;
  }
  const visible: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(view)) {
    if (!hidden.has(field)) {
      visible[field] = value;
    }
  }
  return visible as T;
}

/**
 * True when a filter, a sort or a lookup key on this field would not reveal values the principal
 * may not see. The one field-policy check of every way of picking records by a field's value: a
 * record found, or not found, by a value says what the value is.
 */
export const mayFilterOn = (principal: Principal, entity: Entity, field: string): boolean =>
  maySee(principal, (fieldClassOf[entity] as Record<string, FieldClass>)[field]);

/** Why the principal may not search by this field, or undefined (the refusal every API words alike). */
export const searchRefusal = (
  principal: Principal,
  entity: Entity,
  field: string,
  name: string,
): string | undefined =>
  mayFilterOn(principal, entity, field) ? undefined : `your role may not search by ${name}`;

/** The keys a person or a beneficiary is looked up by, and the field each one reveals. */
const LOOKUP_KEYS = {
  identifier: ['individual', 'identifiers'],
  phone: ['individual', 'phone'],
  program_beneficiary_id: ['enrollment', 'program_beneficiary_id'],
} as const satisfies Record<string, readonly [Entity, string]>;
export type LookupKey = keyof typeof LOOKUP_KEYS;

/** Why the principal may not look records up by this key (REST, IBR, DCI, GraphQL), or undefined. */
export function lookupRefusal(principal: Principal, key: LookupKey, name: string = key): string | undefined {
  const [entity, field] = LOOKUP_KEYS[key];
  return searchRefusal(principal, entity, field, name);
}

/** A lookup by a key the principal may not search by: a 403 problem (REST, IBR and GraphQL routes). */
export function assertMayLookUp(principal: Principal, key: LookupKey, name?: string): void {
  const refused = lookupRefusal(principal, key, name);
  if (refused) {
    throw forbidden(refused);
  }
}

export type HouseholdRow = Selectable<HouseholdTable> & { member_count: number };

export function householdView(row: HouseholdRow, principal: Principal): HouseholdView {
  return applyPolicy(
    'household',
    {
      id: row.id,
      household_number: row.household_number,
      group_type: row.group_type,
      status: row.status,
      admin_area_code: row.admin_area_code,
      location:
        row.latitude === null || row.longitude === null
          ? null
          : { latitude: row.latitude, longitude: row.longitude },
      address_line: row.address_line,
      locality: row.locality,
      pmt_score: row.pmt_score,
      income_band: row.income_band,
      dwelling_type: row.dwelling_type,
      water_source: row.water_source,
      has_electricity: row.has_electricity,
      assets: row.assets,
      member_count: row.member_count,
      registered_at: row.registered_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      version: row.version,
    },
    principal,
  );
}

export type IndividualRow = Selectable<IndividualTable> & { identifiers: { type: string; value: string }[] };

export function individualView(row: IndividualRow, principal: Principal): IndividualView {
  return applyPolicy(
    'individual',
    {
      id: row.id,
      household_id: row.household_id,
      relationship_to_head: row.relationship_to_head,
      given_name: row.given_name,
      middle_name: row.middle_name,
      family_name: row.family_name,
      sex: row.sex,
      birth_date: row.birth_date,
      // The year alone is what de-identified views (analysts) keep of the birth date.
      birth_year: row.birth_date ? Number(row.birth_date.slice(0, 4)) : null,
      phone: row.phone,
      marital_status: row.marital_status,
      disability: row.disability,
      disability_type: row.disability_type,
      is_deceased: row.is_deceased,
      deceased_date: row.deceased_date,
      consent: { data_sharing: row.consent_data_sharing, contact: row.consent_contact },
      identifiers: row.identifiers,
      status: row.status,
      registered_at: row.registered_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      version: row.version,
    },
    principal,
  );
}

export type EnrollmentRow = Selectable<EnrollmentTable> & {
  program_code: string;
  program_name: string;
  history: { from_status: string | null; to_status: string; reason: string | null; changed_at: string }[];
};

export function enrollmentView(row: EnrollmentRow, principal: Principal): EnrollmentView {
  return applyPolicy(
    'enrollment',
    {
      id: row.id,
      program: { id: row.program_id, code: row.program_code, name: row.program_name },
      beneficiary: row.individual_id
        ? { type: 'individual', id: row.individual_id }
        : { type: 'household', id: row.household_id! },
      program_beneficiary_id: row.program_beneficiary_id,
      status: row.status,
      status_reason: row.status_reason,
      enrolled_at: row.enrolled_at,
      benefit_amount: row.benefit_amount,
      currency: row.currency,
      payment_method: row.payment_method,
      payment_account: row.payment_account,
      last_payment_at: row.last_payment_at,
      history: row.history,
      updated_at: row.updated_at.toISOString(),
      version: row.version,
    },
    principal,
  );
}
