import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import { enrollmentInScope, householdInScope, individualInScope, type AreaScope } from '#registry/scope';
import { mayFilterOn, searchRefusal } from '#registry/views';
import { searchRejection } from '../errors.ts';
import {
  attributeNames,
  attributeOf,
  idTypeAttribute,
  type Attribute,
  type Entity,
  type Where,
} from './attributes.ts';
import { invalidCriteria, QUERY_LIMITS, type Condition, type Test } from './condition.ts';

/**
 * Condition tree -> one parameterised SQL boolean over the entity's base alias. Fails closed: an
 * attribute not on the whitelist, an operator the attribute does not take, a value of the wrong
 * type, or a field the principal may not see, rejects the search naming what was refused. Nothing
 * is evaluated in JavaScript.
 */
export function compileCondition(condition: Condition, entity: Entity, principal: Principal): Where {
  switch (condition.kind) {
    case 'test':
      return compileTest(condition, entity, principal);
    case 'and':
    case 'or': {
      const parts = condition.conditions.map((c) => compileCondition(c, entity, principal));
      return sql<SqlBool>`(${sql.join(parts, condition.kind === 'and' ? sql` and ` : sql` or `)})`;
    }
    case 'not':
      return sql<SqlBool>`not (${compileCondition(condition.condition, entity, principal)})`;
  }
}

function compileTest(test: Test, entity: Entity, principal: Principal): Where {
  const attribute = test.identifierType
    ? idTypeAttribute(entity, test.attribute)
    : attributeOf(entity, test.attribute);
  if (!attribute) {
    throw invalidCriteria(
      `unknown attribute "${clip(test.attribute)}"; known: ${attributeNames(entity).join(', ')}`,
    );
  }
  assertMayUse(attribute, test.attribute, principal);
  if (!attribute.operators.includes(test.operator)) {
    throw invalidCriteria(
      `operator "${test.operator}" is not supported for ${test.attribute} (${attribute.operators.join(', ')})`,
    );
  }
  const raw = test.operator === 'in' ? listOf(test.value, test.attribute) : [test.value];
  const read = raw.map((value) => {
    const v = attribute.value.read(value);
    if (v === undefined) {
      throw invalidCriteria(`${test.attribute} expects ${attribute.value.describe}`);
    }
    return v;
  });
  return attribute.where(test.operator, read);
}

/** The field policy on queries: filtering on a field would reveal it, so a hidden field may not be used. */
function assertMayUse(attribute: Attribute, name: string, principal: Principal): void {
  const refused = searchRefusal(principal, attribute.policy.entity, attribute.policy.field, clip(name));
  if (refused) {
    throw invalidCriteria(refused);
  }
}

/**
 * `in` values: a list, or (because the spec's `attribute_value` has no array branch) a string of
 * comma-separated values.
 */
function listOf(value: unknown, attribute: string): unknown[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > QUERY_LIMITS.values) {
    throw invalidCriteria(
      `"in" on ${attribute} takes 1 to ${QUERY_LIMITS.values} values (a list or comma-separated)`,
    );
  }
  return list;
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 60)}...` : s);

/** `search_criteria.sort` item: `{ attribute_name, sort_order: asc | desc }`. */
export interface SortItem {
  attribute_name?: unknown;
  sort_order?: unknown;
}

/** ORDER BY for the requested sort, always ending with the id so that pages are stable. */
export function compileSort(
  sort: SortItem[] | undefined,
  entity: Entity,
  principal: Principal,
): RawBuilder<unknown> {
  const keys = (sort ?? []).map((item) => {
    const name = typeof item.attribute_name === 'string' ? item.attribute_name : '';
    const attribute = attributeOf(entity, name);
    if (!attribute?.sort) {
      throw searchRejection('rjct.sort.invalid', `cannot sort by "${clip(name)}"`);
    }
    if (!mayFilterOn(principal, attribute.policy.entity, attribute.policy.field)) {
      throw searchRejection('rjct.sort.invalid', `your role may not sort by ${clip(name)}`);
    }
    const order = item.sort_order ?? 'asc';
    if (order !== 'asc' && order !== 'desc') {
      throw searchRejection('rjct.sort.invalid', 'sort_order is asc or desc');
    }
    return sql`${attribute.sort} ${sql.raw(order)} nulls last`;
  });
  return sql.join([...keys, sql.ref(`${ALIAS[entity]}.id`)]);
}

export const ALIAS: Record<Entity, string> = { person: 'i', group: 'h', beneficiary: 'e' };

const IN_SCOPE = { person: individualInScope, group: householdInScope, beneficiary: enrollmentInScope };

/** The caller's area scope (its data sharing agreement) added to a search: outside records never match. */
export function withinScope(where: Where, entity: Entity, scope: AreaScope): Where {
  return scope ? sql<SqlBool>`(${where}) and ${IN_SCOPE[entity](ALIAS[entity], scope)}` : where;
}

/**
 * A filter on one entity, restated for another: the groups of matching persons, or the members of
 * matching groups (SR `response_entity`).
 */
export function restate(where: Where, from: Entity, to: Entity): Where {
  if (from === to) {
    return where;
  }
  if (from === 'person' && to === 'group') {
    return sql<SqlBool>`h.id in (select i.household_id from individuals i where ${where})`;
  }
  if (from === 'group' && to === 'person') {
    return sql<SqlBool>`i.household_id in (select h.id from households h where ${where})`;
  }
  throw invalidCriteria(`cannot answer a ${from} search with ${to} records`);
}
