import type { HouseholdView, IndividualView } from '#registry/schemas';
import { codeOf, GROUP_TYPE, MARITAL_STATUS } from './codes.ts';

/**
 * Registry records as DCI Social Registry records (spdci schemas: core/v1/data Person, Member,
 * Group, Identifier, Name, Address; extensions/social/v1 Group with group_head_info and member_list;
 * shaped like examples/minimal/sr-sync-search-response.json). Built only from the policy-filtered
 * views of registry/views.ts, never from rows: a field the caller may not see is already gone, and
 * its DCI counterpart is left out.
 */

export interface DciIdentifier {
  identifier_type: string;
  identifier_value: string;
}
export type DciRecord = Record<string, unknown>;

/** Drops absent (hidden or empty) fields: DCI records have no nulls. */
export function compact<T extends Record<string, unknown>>(record: T): DciRecord {
  const kept: DciRecord = {};
  for (const key in record) {
    const value = record[key];
    if (value !== undefined && value !== null) {
      kept[key] = value;
    }
  }
  return kept;
}

/** DCI DateTime for a calendar date, as the spec's examples write birth dates. */
export const dateTime = (date: string | null | undefined) => (date ? `${date}T00:00:00Z` : undefined);

export const identifiersOf = (view: IndividualView): DciIdentifier[] | undefined =>
  view.identifiers?.map((x) => ({ identifier_type: x.type, identifier_value: x.value }));

function nameOf(view: IndividualView): DciRecord | undefined {
  const name = compact({
    given_name: view.given_name,
    second_name: view.middle_name,
    surname: view.family_name,
  });
  return Object.keys(name).length ? name : undefined;
}

/** SR Person (`demographic_info`; also the record of `reg_record_type: Person`). */
export function personRecord(view: IndividualView): DciRecord {
  return compact({
    identifier: identifiersOf(view),
    name: nameOf(view),
    sex: view.sex,
    birth_date: dateTime(view.birth_date),
    death_date: dateTime(view.deceased_date),
    phone_number: view.phone,
    registration_date: view.registered_at,
    last_updated: view.updated_at,
  });
}

/**
 * SR Member. `related_person` carries the relationship to the group head (RelationshipTypeEnum;
 * SELF is the head), as in the minimal example. The birth year goes in `additional_attributes`: it
 * is what roles that may not see the birth date keep of it.
 */
export function memberRecord(view: IndividualView): DciRecord {
  return compact({
    member_identifier: identifiersOf(view),
    demographic_info: personRecord(view),
    related_person: [{ relationship_type: view.relationship_to_head }],
    is_disabled: view.disability,
    marital_status: codeOf(MARITAL_STATUS, view.marital_status),
    additional_attributes: view.birth_year === null ? undefined : [{ birth_year: view.birth_year }],
    registration_date: view.registered_at,
    last_updated: view.updated_at,
  });
}

/** Core Address: the lines are class `address`; the admin area codes are not personal. */
function addressOf(view: HouseholdView): DciRecord {
  const [region] = view.admin_area_code.split('-');
  return compact({
    address_line_1: view.address_line,
    locality: view.locality,
    region_code: region,
    sub_region_code: view.admin_area_code.includes('-') ? view.admin_area_code : undefined,
  });
}

/**
 * SR Group with its head and members (AssistanceUnit codes for `group_type`). `listMembers: false`
 * gives the head only (IBR: "for households, information about the head is provided").
 */
export function groupRecord(view: HouseholdView, members: IndividualView[], listMembers = true): DciRecord {
  const head = members.find((m) => m.relationship_to_head === 'SELF');
  const score = view.pmt_score;
  return compact({
    group_identifier:
      view.household_number === undefined
        ? undefined
        : [{ identifier_type: 'household_number', identifier_value: view.household_number }],
    group_type: codeOf(GROUP_TYPE, view.group_type),
    geographical_location: view.location
      ? { geo: { latitude: view.location.latitude, longitude: view.location.longitude } }
      : undefined,
    address: addressOf(view),
    poverty_score: score,
    poverty_score_type: score === undefined || score === null ? undefined : 'PMT',
    group_size: view.member_count,
    group_head_info: head ? memberRecord(head) : undefined,
    member_list: listMembers ? members.map(memberRecord) : undefined,
    additional_attributes: additionalAttributes(view),
    registration_date: view.registered_at,
    last_updated: view.updated_at,
  });
}

/** Household facts with no DCI property, as the key/value list the Group class allows. */
function additionalAttributes(view: HouseholdView): DciRecord[] {
  const facts = compact({
    income_band: view.income_band,
    dwelling_type: view.dwelling_type,
    water_source: view.water_source,
    has_electricity: view.has_electricity,
  });
  return Object.entries(facts).map(([key, value]) => ({ [key]: value }));
}
