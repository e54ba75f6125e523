import { Type, type Static } from '@sinclair/typebox';
import type { HouseholdChange, MemberChange, RegistryChange } from '#registry/changes/model';
import type { FormFacts, XmlNode } from './xform.ts';

/**
 * The declarative mapping from a form's fields to registry fields (per form, versioned). Paths are
 * relative to the instance root (`location/gps`), member paths relative to the repeat
 * (`given_name`). A field is a path, or `{path, values}` to translate the form's codes
 * (`{"path": "sex", "values": {"f": "female", "m": "male"}}`). A geopoint fills `location`
 * (latitude, longitude). `household_id`, when the form carries it, makes the submission an update
 * of that household; `person_id` in the repeat updates that member. `consents` in the repeat is a
 * select-multiple question whose answers are consent purpose codes (space-separated, as ODK writes
 * them; `values` translates the form's codes): each becomes a consent record when the change applies.
 */

const Path = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_./-]{0,200}$' });
const Field = Type.Union([
  Path,
  Type.Object(
    {
      path: Path,
      values: Type.Record(Type.String(), Type.String(), { description: 'form code → registry code' }),
    },
    { additionalProperties: false },
  ),
]);

export const HOUSEHOLD_FIELDS = [
  'admin_area_code',
  'address_line',
  'locality',
  'location',
  'dwelling_type',
  'water_source',
  'has_electricity',
  'group_type',
] as const;
export const MEMBER_FIELDS = [
  'given_name',
  'middle_name',
  'family_name',
  'sex',
  'birth_date',
  'relationship_to_head',
  'phone',
  'marital_status',
  'disability',
  'disability_type',
] as const;

const fieldsOf = (names: readonly string[]) =>
  Type.Partial(Type.Object(Object.fromEntries(names.map((name) => [name, Field]))), {
    additionalProperties: false,
  });

export const MappingSchema = Type.Object(
  {
    consent: Type.Optional(
      Type.Object(
        { path: Path, equals: Type.String({ description: 'the answer that means consent' }) },
        { additionalProperties: false },
      ),
    ),
    household_id: Type.Optional(Path),
    household: fieldsOf(HOUSEHOLD_FIELDS),
    members: Type.Object(
      {
        repeat: Path,
        person_id: Type.Optional(Path),
        fields: fieldsOf(MEMBER_FIELDS),
        identifiers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,40}$' }), Field)),
        consents: Type.Optional(Field),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Mapping = Static<typeof MappingSchema>;
type FieldSpec = Static<typeof Field>;

const pathOf = (field: FieldSpec) => (typeof field === 'string' ? field : field.path);

/** The paths a mapping names that the form does not have (empty: the mapping fits the form). */
export function mappingProblems(mapping: Mapping, form: FormFacts): string[] {
  const problems: string[] = [];
  const need = (path: string, where: string) => {
    if (!form.paths.has(path)) {
      problems.push(`${where}: ${path} is not a field of form ${form.formId}`);
    }
  };
  if (mapping.consent) {
    need(mapping.consent.path, 'consent');
  }
  if (mapping.household_id) {
    need(mapping.household_id, 'household_id');
  }
  for (const [name, field] of Object.entries(mapping.household)) {
    need(pathOf(field!), `household.${name}`);
  }
  // A registration form must give what a registration needs; an update form (household_id) need not.
  const registers = !mapping.household_id;
  if (registers && !mapping.household.admin_area_code) {
    problems.push('household.admin_area_code must be mapped (or household_id, for an update form)');
  }
  const repeat = mapping.members.repeat;
  if (!form.repeats.has(repeat)) {
    problems.push(`members.repeat: ${repeat} is not a repeat of form ${form.formId}`);
  }
  const inRepeat = (path: string, where: string) => need(`${repeat}/${path}`, where);
  if (mapping.members.person_id) {
    inRepeat(mapping.members.person_id, 'members.person_id');
  }
  for (const [name, field] of Object.entries(mapping.members.fields)) {
    inRepeat(pathOf(field!), `members.fields.${name}`);
  }
  for (const [type, field] of Object.entries(mapping.members.identifiers ?? {})) {
    inRepeat(pathOf(field), `members.identifiers.${type}`);
  }
  if (mapping.members.consents) {
    inRepeat(pathOf(mapping.members.consents), 'members.consents');
  }
  for (const name of ['given_name', 'family_name'] as const) {
    if (registers && !mapping.members.fields[name]) {
      problems.push(`members.fields.${name} must be mapped`);
    }
  }
  return problems;
}

const children = (value: unknown): XmlNode[] =>
  value === undefined || value === null
    ? []
    : (Array.isArray(value) ? value : [value]).map((v) =>
        typeof v === 'object' ? (v as XmlNode) : { '#text': v },
      );

/** The text at `path` under `node` ('' when absent). */
function at(node: XmlNode, path: string): string {
  let current: unknown = node;
  for (const part of path.split('/')) {
    current = children((current as XmlNode | undefined)?.[part])[0];
  }
  if (current === undefined) {
    return '';
  }
  return typeof current === 'object'
    ? String((current as XmlNode)['#text'] ?? '').trim()
    : String(current).trim();
}

/** Every instance of the repeat at `path` (ODK writes one element per instance, side by side). */
function instancesAt(node: XmlNode, path: string): XmlNode[] {
  const parts = path.split('/');
  let level: XmlNode[] = [node];
  for (const part of parts) {
    level = level.flatMap((n) => children(n[part]));
  }
  return level;
}

const translated = (field: FieldSpec, raw: string) =>
  typeof field === 'string' ? raw : (field.values[raw] ?? raw);

function valueOf(node: XmlNode, field: FieldSpec | undefined): string | undefined {
  if (field === undefined) {
    return undefined;
  }
  const raw = at(node, pathOf(field));
  return raw === '' ? undefined : translated(field, raw);
}

/** The answers of a select-multiple question: ODK writes the chosen codes separated by spaces. */
const choicesOf = (node: XmlNode, field: FieldSpec): string[] =>
  at(node, pathOf(field))
    .split(/\s+/)
    .filter(Boolean)
    .map((code) => translated(field, code));

/** ODK geopoint: "latitude longitude altitude accuracy". */
function geopoint(text: string | undefined): { latitude: string; longitude: string } | undefined {
  if (!text) {
    return undefined;
  }
  const [latitude, longitude] = text.split(/\s+/);
  return latitude !== undefined && longitude !== undefined ? { latitude, longitude } : undefined;
}

/**
 * The registry change a submission asks for, read through the mapping. Values stay text here:
 * checking and converting them is the change request's validation (one place for every source).
 */
export function applyMapping(mapping: Mapping, instance: XmlNode): RegistryChange {
  const household: HouseholdChange = {};
  for (const [name, field] of Object.entries(mapping.household)) {
    const value = valueOf(instance, field);
    if (name === 'location') {
      Object.assign(household, geopoint(value) ?? {});
    } else if (value !== undefined) {
      household[name as keyof HouseholdChange] = value;
    }
  }
  const members: MemberChange[] = instancesAt(instance, mapping.members.repeat).map((member) => {
    const change: MemberChange = { identifiers: [] };
    const personId = mapping.members.person_id ? valueOf(member, mapping.members.person_id) : undefined;
    if (personId) {
      change.person_id = personId;
    }
    for (const [name, field] of Object.entries(mapping.members.fields)) {
      const value = valueOf(member, field);
      if (value !== undefined) {
        change[name as (typeof MEMBER_FIELDS)[number]] = value;
      }
    }
    for (const [type, field] of Object.entries(mapping.members.identifiers ?? {})) {
      const value = valueOf(member, field);
      if (value !== undefined) {
        change.identifiers.push({ type, value });
      }
    }
    if (mapping.members.consents) {
      change.consents = choicesOf(member, mapping.members.consents);
    }
    return change;
  });
  const householdId = mapping.household_id ? valueOf(instance, mapping.household_id) : undefined;
  return {
    ...(householdId ? { household_id: householdId } : {}),
    consent: mapping.consent ? at(instance, mapping.consent.path) === mapping.consent.equals : undefined,
    household,
    members,
  };
}
