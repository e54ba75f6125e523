import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { memberCountOf } from '#registry/queries';
import type { fieldClassOf } from '#registry/views';
import { BENEFIT_TYPE, ENROLLMENT_STATUS, GROUP_TYPE, MARITAL_STATUS, SEX } from '../codes.ts';
import type { Operator } from './condition.ts';
import * as values from './values.ts';
import type { ValueType } from './values.ts';

/**
 * The fixed whitelist of queryable DCI attributes, per record entity, and the SQL each compiles to.
 * Base aliases: `i` individuals (person), `h` households (group), `e` enrollments joined to `p`
 * programs (beneficiary). Every attribute names the registry field whose class decides who may use
 * it (registry/views.ts `fieldClassOf`): a filter on a field reveals that field.
 */

export type Entity = 'person' | 'group' | 'beneficiary';
export type Where = RawBuilder<SqlBool>;
type Value = string | number | boolean;

export interface Attribute {
  policy: { entity: keyof typeof fieldClassOf; field: string };
  value: ValueType;
  operators: readonly Operator[];
  where(operator: Operator, values: Value[]): Where;
  /** The sort key, for attributes a search may be ordered by. */
  sort?: RawBuilder<unknown>;
}

const ALL: readonly Operator[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in'];
const EQUALITY: readonly Operator[] = ['eq', 'ne', 'in'];
const MEMBERSHIP: readonly Operator[] = ['eq', 'in'];
const COMPARE = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

function compare(left: RawBuilder<unknown>, type: ValueType, operator: Operator, list: Value[]): Where {
  if (operator === 'in') {
    return sql<SqlBool>`${left} in (${sql.join(list.map((v) => type.sql(v)))})`;
  }
  // sql.raw only ever receives one of the fixed operator spellings above.
  return sql<SqlBool>`${left} ${sql.raw(COMPARE[operator])} ${type.sql(list[0]!)}`;
}

const anyOf = (parts: Where[]): Where =>
  parts.length === 1 ? parts[0]! : sql<SqlBool>`(${sql.join(parts, sql` or `)})`;

type Policy = Attribute['policy'];
const individual = (field: string): Policy => ({ entity: 'individual', field });
const household = (field: string): Policy => ({ entity: 'household', field });
const enrollment = (field: string): Policy => ({ entity: 'enrollment', field });

function column(ref: string, value: ValueType, policy: Policy, operators = ALL): Attribute {
  const expression = sql.ref(ref);
  return {
    policy,
    value,
    operators,
    where: (op, list) => compare(expression, value, op, list),
    sort: expression,
  };
}

/** Case-insensitive text, compared on `lower(column)`. */
function name(ref: string, policy: Policy): Attribute {
  const lowered = sql`lower(${sql.ref(ref)})`;
  return {
    policy,
    value: values.textIgnoringCase,
    operators: EQUALITY,
    where: (op, list) => compare(lowered, values.textIgnoringCase, op, list),
    sort: sql.ref(ref),
  };
}

/** A year of birth as a date range on the birth date, so the birth date index serves it. */
function birthYear(ref: string): Attribute {
  const date = sql.ref(ref);
  const jan1 = (y: number) => sql`${`${String(y).padStart(4, '0')}-01-01`}::date`;
  const within = (y: number) => sql<SqlBool>`(${date} >= ${jan1(y)} and ${date} < ${jan1(y + 1)})`;
  const where = (op: Operator, list: Value[]): Where => {
    const y = list[0] as number;
    switch (op) {
      case 'eq':
        return within(y);
      case 'ne':
        return sql<SqlBool>`not ${within(y)}`;
      case 'lt':
        return sql<SqlBool>`${date} < ${jan1(y)}`;
      case 'le':
        return sql<SqlBool>`${date} < ${jan1(y + 1)}`;
      case 'gt':
        return sql<SqlBool>`${date} >= ${jan1(y + 1)}`;
      case 'ge':
        return sql<SqlBool>`${date} >= ${jan1(y)}`;
      case 'in':
        return anyOf(list.map((v) => within(v as number)));
    }
  };
  // birth_year is what views.ts gives roles that may not see the birth date.
  return { policy: individual('birth_year'), value: values.year, operators: ALL, where };
}

/** A condition on households, for the entity at hand (a person's household, a beneficiary's). */
function viaHousehold(entity: Entity, onHousehold: (alias: string) => Where): Where {
  switch (entity) {
    case 'group':
      return onHousehold('h');
    case 'person':
      return sql<SqlBool>`i.household_id in (select hh.id from households hh where ${onHousehold('hh')})`;
    case 'beneficiary':
      return sql<SqlBool>`(e.household_id in (select hh.id from households hh where ${onHousehold('hh')})
        or e.individual_id in (select m.id from individuals m join households hh on hh.id = m.household_id where ${onHousehold('hh')}))`;
  }
}

/** A condition on persons: the person, any member of a group, the beneficiary or its household's members. */
function viaPerson(entity: Entity, onPerson: (alias: string) => Where): Where {
  switch (entity) {
    case 'person':
      return onPerson('i');
    case 'group':
      return sql<SqlBool>`exists (select 1 from individuals m where m.household_id = h.id and ${onPerson('m')})`;
    case 'beneficiary':
      return sql<SqlBool>`(e.individual_id in (select m.id from individuals m where ${onPerson('m')})
        or e.household_id in (select m.household_id from individuals m where ${onPerson('m')}))`;
  }
}

/** An admin area and all areas below it: codes are hierarchical (R01, R01-D03, R01-D03-V012). */
function area(entity: Entity): Attribute {
  // The reader admits only [A-Za-z0-9-], so the code carries no LIKE wildcard.
  const inArea = (alias: string, code: Value) =>
    sql<SqlBool>`(${sql.ref(`${alias}.admin_area_code`)} = ${code} or ${sql.ref(`${alias}.admin_area_code`)} like ${`${String(code)}-%`})`;
  return {
    policy: household('admin_area_code'),
    value: values.areaCode,
    operators: MEMBERSHIP,
    where: (_op, list) => viaHousehold(entity, (alias) => anyOf(list.map((code) => inArea(alias, code)))),
  };
}

function householdNumber(entity: Entity): Attribute {
  return {
    policy: household('household_number'),
    value: values.text,
    operators: MEMBERSHIP,
    where: (op, list) =>
      viaHousehold(entity, (alias) => compare(sql.ref(`${alias}.household_number`), values.text, op, list)),
    ...(entity === 'group' ? { sort: sql.ref('h.household_number') } : {}),
  };
}

/** A typed identifier (UIN, BRN, ...): identifiers_lookup (id_type, id_value) serves it. */
export function identifier(entity: Entity, type: string): Attribute {
  return {
    policy: individual('identifiers'),
    value: values.text,
    operators: MEMBERSHIP,
    where: (op, list) =>
      viaPerson(
        entity,
        (
          alias,
        ) => sql<SqlBool>`exists (select 1 from identifiers x where x.individual_id = ${sql.ref(`${alias}.id`)}
        and x.id_type = ${type} and ${compare(sql.ref('x.id_value'), values.text, op, list)})`,
      ),
  };
}

/** Identifier types queryable by name in expressions (DCI IdentifierTypeEnum, plus local ones). */
export const IDENTIFIER_TYPES = ['UIN', 'BRN', 'MRN', 'DRN', 'VOTER_ID'] as const;

function common(entity: Entity): [string, Attribute][] {
  return [
    ['location', area(entity)],
    ['admin_area_code', area(entity)],
    ['household_number', householdNumber(entity)],
    ...IDENTIFIER_TYPES.map((type): [string, Attribute] => [type, identifier(entity, type)]),
  ];
}

const person = new Map<string, Attribute>([
  ['given_name', name('i.given_name', individual('given_name'))],
  ['second_name', name('i.middle_name', individual('middle_name'))],
  ['surname', name('i.family_name', individual('family_name'))],
  ['family_name', name('i.family_name', individual('family_name'))],
  ['sex', column('i.sex', values.oneOf(SEX), individual('sex'), EQUALITY)],
  ['birth_date', column('i.birth_date', values.date, individual('birth_date'))],
  ['DOB', column('i.birth_date', values.date, individual('birth_date'))],
  ['YOB', birthYear('i.birth_date')],
  ['birth_year', birthYear('i.birth_date')],
  [
    'marital_status',
    column('i.marital_status', values.oneOf(MARITAL_STATUS), individual('marital_status'), EQUALITY),
  ],
  ['is_disabled', column('i.disability', values.boolean, individual('disability'), ['eq', 'ne'])],
  [
    'relationship_type',
    column('i.relationship_to_head', values.text, individual('relationship_to_head'), EQUALITY),
  ],
  ['registration_date', column('i.registered_at', values.timestamp, individual('registered_at'))],
  ['last_updated', column('i.updated_at', values.timestamp, individual('updated_at'))],
  ...common('person'),
]);

const group = new Map<string, Attribute>([
  ['poverty_score', column('h.pmt_score', values.number, household('pmt_score'))],
  ['pmt_score', column('h.pmt_score', values.number, household('pmt_score'))],
  [
    'group_size',
    {
      policy: household('member_count'),
      value: values.integer,
      operators: ALL,
      where: (op, list) => compare(memberCountOf, values.integer, op, list),
      sort: memberCountOf,
    },
  ],
  ['group_type', column('h.group_type', values.oneOf(GROUP_TYPE), household('group_type'), EQUALITY)],
  ['registration_date', column('h.registered_at', values.timestamp, household('registered_at'))],
  ['last_updated', column('h.updated_at', values.timestamp, household('updated_at'))],
  ...common('group'),
]);

const assistanceUnit = sql`(case when e.individual_id is null then 'household' else 'individual' end)`;

const beneficiary = new Map<string, Attribute>([
  ['programme_identifier', column('p.code', values.text, enrollment('program'), EQUALITY)],
  ['benefit_type', column('p.benefit_type', values.oneOf(BENEFIT_TYPE), enrollment('program'), EQUALITY)],
  ['enrollment_status', column('e.status', values.oneOf(ENROLLMENT_STATUS), enrollment('status'), EQUALITY)],
  ['enrollment_date', column('e.enrolled_at', values.date, enrollment('enrolled_at'))],
  [
    'assistance_unit',
    {
      policy: enrollment('beneficiary'),
      value: values.oneOf({ '1': 'individual', '2': 'household' }),
      operators: MEMBERSHIP,
      where: (op, list) => compare(assistanceUnit, values.text, op, list),
    },
  ],
  ['last_updated', column('e.updated_at', values.timestamp, enrollment('updated_at'))],
  ...common('beneficiary'),
]);

const ATTRIBUTES: Record<Entity, ReadonlyMap<string, Attribute>> = { person, group, beneficiary };

/** The whitelisted attribute of this name (exact spelling), or undefined. */
export const attributeOf = (entity: Entity, attribute: string): Attribute | undefined =>
  ATTRIBUTES[entity].get(attribute);

/** The names a client may use, for error messages. */
export const attributeNames = (entity: Entity): string[] => [...ATTRIBUTES[entity].keys()];

/** An idtype-value `type`: the household number, or any identifier type the registry may hold. */
export function idTypeAttribute(entity: Entity, type: string): Attribute | undefined {
  if (type.toLowerCase() === 'household_number') {
    return householdNumber(entity);
  }
  return /^[A-Za-z0-9_.:-]{1,40}$/.test(type) ? identifier(entity, type) : undefined;
}
