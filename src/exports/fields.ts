import { sql, type RawBuilder } from 'kysely';
import type { FieldClass } from '#platform/auth/roles';
import { memberCountOf } from '#registry/queries';
import { fieldClassOf, type HouseholdRow, type IndividualRow } from '#registry/views';

/**
 * The fields an export may select, per entity: one catalogue from which the row values, the CSV
 * header, the Parquet schema and the published XSD are all made. Each field says the class of
 * personal data it belongs to (the field policy of registry/views.ts hides whole classes), whether it
 * directly identifies a person or household (dropped by `drop_direct_identifiers`), and whether it is
 * an identifier that `pseudonymise` replaces with a keyed hash.
 */

export const EXPORT_ENTITIES = ['households', 'individuals', 'household_members'] as const;
export type ExportEntity = (typeof EXPORT_ENTITIES)[number];

export type FieldType =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'timestamp'
  /** A list of codes (household assets). */
  | 'codes'
  /** A person's typed identifiers: `[{ type, value }]`. */
  | 'identifiers';

export interface Identifier {
  type: string;
  value: string;
}
export type FieldValue = string | number | boolean | null | readonly string[] | readonly Identifier[];

export interface ExportField<R> {
  name: string;
  type: FieldType;
  description: string;
  fieldClass?: FieldClass | undefined;
  /** Names, contacts, addresses, exact places, birth dates and identifiers. */
  direct?: boolean;
  /** Identifiers replaced by a keyed hash when the definition pseudonymises. */
  pseudonym?: boolean;
  value: (row: R) => FieldValue;
  /**
   * The value as SQL (over `h` households, `i` persons): CSV is written by the database from it
   * (csv-sql.ts), which the records' values must match.
   */
  column: RawBuilder<unknown>;
}

const iso = (date: Date) => date.toISOString();

const householdClasses: Record<string, FieldClass> = fieldClassOf.household;
const individualClasses: Record<string, FieldClass> = fieldClassOf.individual;

type Spec<R> = Omit<ExportField<R>, 'fieldClass' | 'column'> & { column?: RawBuilder<unknown> };

const householdSpecs: Spec<HouseholdRow>[] = [
  { name: 'id', type: 'string', description: 'Household id', pseudonym: true, value: (h) => h.id },
  {
    name: 'household_number',
    type: 'string',
    description: 'Registration number',
    direct: true,
    pseudonym: true,
    value: (h) => h.household_number,
  },
  {
    name: 'group_type',
    type: 'string',
    description: 'household, family or community',
    value: (h) => h.group_type,
  },
  { name: 'status', type: 'string', description: 'Record status', value: (h) => h.status },
  {
    name: 'admin_area_code',
    type: 'string',
    description: 'Admin area (hierarchical code)',
    value: (h) => h.admin_area_code,
  },
  {
    name: 'latitude',
    type: 'number',
    description: 'WGS 84 latitude',
    direct: true,
    value: (h) => h.latitude,
  },
  {
    name: 'longitude',
    type: 'number',
    description: 'WGS 84 longitude',
    direct: true,
    value: (h) => h.longitude,
  },
  {
    name: 'address_line',
    type: 'string',
    description: 'Street address',
    direct: true,
    value: (h) => h.address_line,
  },
  {
    name: 'locality',
    type: 'string',
    description: 'Village or locality',
    direct: true,
    value: (h) => h.locality,
  },
  { name: 'pmt_score', type: 'number', description: 'Proxy means test score', value: (h) => h.pmt_score },
  { name: 'income_band', type: 'string', description: 'Poverty band', value: (h) => h.income_band },
  { name: 'dwelling_type', type: 'string', description: 'Dwelling type', value: (h) => h.dwelling_type },
  { name: 'water_source', type: 'string', description: 'Main water source', value: (h) => h.water_source },
  {
    name: 'has_electricity',
    type: 'boolean',
    description: 'Connected to electricity',
    value: (h) => h.has_electricity,
  },
  { name: 'assets', type: 'codes', description: 'Assets owned (codes)', value: (h) => h.assets },
  {
    name: 'member_count',
    type: 'integer',
    description: 'Number of members',
    value: (h) => h.member_count,
    column: memberCountOf,
  },
  {
    name: 'registered_at',
    type: 'timestamp',
    description: 'Registered at',
    value: (h) => iso(h.registered_at),
  },
  { name: 'updated_at', type: 'timestamp', description: 'Last changed at', value: (h) => iso(h.updated_at) },
  { name: 'version', type: 'integer', description: 'Record version', value: (h) => h.version },
];

const individualSpecs: Spec<IndividualRow>[] = [
  { name: 'id', type: 'string', description: 'Person id', pseudonym: true, value: (i) => i.id },
  {
    name: 'household_id',
    type: 'string',
    description: 'Household id',
    pseudonym: true,
    value: (i) => i.household_id,
  },
  {
    name: 'relationship_to_head',
    type: 'string',
    description: 'DCI relationship code (SELF is the head)',
    value: (i) => i.relationship_to_head,
  },
  { name: 'given_name', type: 'string', description: 'Given name', direct: true, value: (i) => i.given_name },
  {
    name: 'middle_name',
    type: 'string',
    description: 'Middle name',
    direct: true,
    value: (i) => i.middle_name,
  },
  {
    name: 'family_name',
    type: 'string',
    description: 'Family name',
    direct: true,
    value: (i) => i.family_name,
  },
  { name: 'sex', type: 'string', description: 'male, female, other or unknown', value: (i) => i.sex },
  { name: 'birth_date', type: 'date', description: 'Birth date', direct: true, value: (i) => i.birth_date },
  {
    name: 'birth_year',
    type: 'integer',
    description: 'Birth year (kept by de-identified exports)',
    value: (i) => (i.birth_date ? Number(i.birth_date.slice(0, 4)) : null),
    column: sql`extract(year from i.birth_date)::int`,
  },
  { name: 'phone', type: 'string', description: 'Phone number', direct: true, value: (i) => i.phone },
  { name: 'marital_status', type: 'string', description: 'Marital status', value: (i) => i.marital_status },
  { name: 'disability', type: 'boolean', description: 'Has a disability', value: (i) => i.disability },
  {
    name: 'disability_type',
    type: 'string',
    description: 'Disability type',
    value: (i) => i.disability_type,
  },
  { name: 'is_deceased', type: 'boolean', description: 'Deceased', value: (i) => i.is_deceased },
  { name: 'deceased_date', type: 'date', description: 'Date of death', value: (i) => i.deceased_date },
  {
    name: 'consent_data_sharing',
    type: 'boolean',
    description: 'Consented to data sharing',
    value: (i) => i.consent_data_sharing,
  },
  {
    name: 'consent_contact',
    type: 'boolean',
    description: 'Consented to be contacted',
    value: (i) => i.consent_contact,
  },
  {
    name: 'identifiers',
    type: 'identifiers',
    description: 'Typed identifiers (UIN, BRN ...)',
    direct: true,
    pseudonym: true,
    value: (i) => i.identifiers,
    column: sql`(select string_agg(x.id_type || ':' || x.id_value, ';' order by x.id_type, x.id_value)
      from identifiers x where x.individual_id = i.id)`,
  },
  { name: 'status', type: 'string', description: 'Record status', value: (i) => i.status },
  {
    name: 'registered_at',
    type: 'timestamp',
    description: 'Registered at',
    value: (i) => iso(i.registered_at),
  },
  { name: 'updated_at', type: 'timestamp', description: 'Last changed at', value: (i) => iso(i.updated_at) },
  { name: 'version', type: 'integer', description: 'Record version', value: (i) => i.version },
];

/** A household field's policy class follows the registry views (location covers both coordinates). */
const withHouseholdClass = (spec: Spec<HouseholdRow>): ExportField<HouseholdRow> => ({
  ...spec,
  column: spec.column ?? sql.ref(`h.${spec.name}`),
  fieldClass:
    spec.name === 'latitude' || spec.name === 'longitude' ? 'location' : householdClasses[spec.name],
});
const withIndividualClass = (spec: Spec<IndividualRow>): ExportField<IndividualRow> => ({
  ...spec,
  column: spec.column ?? sql.ref(`i.${spec.name}`),
  fieldClass: individualClasses[spec.name],
});

export const HOUSEHOLD_FIELDS = householdSpecs.map(withHouseholdClass);
export const INDIVIDUAL_FIELDS = individualSpecs.map(withIndividualClass);

/** A member row of the flat view: the person and their household. */
export interface MemberRow {
  member: IndividualRow;
  household: HouseholdRow;
}

/**
 * The flat household + members view: the person's fields, then the household's prefixed
 * `household_` (its id is the person's household_id; household_number keeps its name).
 */
export const MEMBER_FIELDS: ExportField<MemberRow>[] = [
  ...INDIVIDUAL_FIELDS.map((field) => ({ ...field, value: (row: MemberRow) => field.value(row.member) })),
  ...HOUSEHOLD_FIELDS.filter((field) => field.name !== 'id').map((field) => ({
    ...field,
    name: field.name === 'household_number' ? field.name : `household_${field.name}`,
    description: `${field.description} (household)`,
    value: (row: MemberRow) => field.value(row.household),
  })),
];

export const FIELDS_OF = {
  households: HOUSEHOLD_FIELDS,
  individuals: INDIVIDUAL_FIELDS,
  household_members: MEMBER_FIELDS,
} as const;

/** The names of an entity's fields, in catalogue order. */
export const fieldNames = (entity: ExportEntity): string[] =>
  (FIELDS_OF[entity] as readonly { name: string }[]).map((field) => field.name);
