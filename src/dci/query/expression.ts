import { invalidCriteria, isObject, TreeBudget, type Condition, type Operator } from './condition.ts';

/**
 * The expression form (spec `search_criteria.query.anyOf[0]`): `{ type, value: { expression:
 * { collection, query } } }`, where `query` is written like a MongoDB filter, as in the spec's own
 * example `{ $and: [ { poverty_score: { $lt: 5 } }, { location: { $eq: central_region } } ] }`.
 * Supported: `$and`, `$or`, `$not`; `$eq`, `$ne`, `$lt`, `$lte`, `$gt`, `$gte`, `$in`; several keys in
 * one object mean "and"; `{ attr: value }` means `$eq`. Anything else is refused, naming it.
 */

const FIELD_OPERATORS = new Map<string, Operator>([
  ['$eq', 'eq'],
  ['$ne', 'ne'],
  ['$lt', 'lt'],
  ['$lte', 'le'],
  ['$gt', 'gt'],
  ['$gte', 'ge'],
  ['$in', 'in'],
]);

export interface ParsedExpression {
  /** The record type the expression is about (`Group`, `Member` ...), when it says. */
  collection?: string | undefined;
  condition: Condition;
}

export function parseExpression(query: unknown): ParsedExpression {
  const expression = isObject(query) && isObject(query['value']) ? query['value']['expression'] : undefined;
  if (!isObject(expression) || !isObject(expression['query'])) {
    throw invalidCriteria(
      'an expression query is { "type": ..., "value": { "expression": { "collection": ..., "query": {...} } } }',
    );
  }
  const collection = expression['collection'];
  if (collection !== undefined && typeof collection !== 'string') {
    throw invalidCriteria('expression.collection must be a string');
  }
  return { collection, condition: documentCondition(expression['query'], new TreeBudget(), 1) };
}

/** `{ k1: ..., k2: ... }`: every key must hold. */
function documentCondition(document: unknown, budget: TreeBudget, depth: number): Condition {
  budget.depth(depth);
  if (!isObject(document) || Object.keys(document).length === 0) {
    throw invalidCriteria('each part of an expression must be a non-empty object');
  }
  const parts = Object.entries(document).map(([key, value]) => keyCondition(key, value, budget, depth));
  return parts.length === 1 ? parts[0]! : { kind: 'and', conditions: parts };
}

function keyCondition(key: string, value: unknown, budget: TreeBudget, depth: number): Condition {
  switch (key) {
    case '$and':
    case '$or': {
      if (!Array.isArray(value) || value.length === 0) {
        throw invalidCriteria(`${key} takes a non-empty list`);
      }
      const conditions = value.map((part) => documentCondition(part, budget, depth + 1));
      return { kind: key === '$and' ? 'and' : 'or', conditions };
    }
    case '$not':
      return { kind: 'not', condition: notOperand(value, budget, depth + 1) };
    default:
      if (key.startsWith('$')) {
        throw invalidCriteria(`unknown expression operator "${key}"`);
      }
      return fieldCondition(key, value, budget, depth + 1);
  }
}

const notOperand = (value: unknown, budget: TreeBudget, depth: number): Condition =>
  Array.isArray(value)
    ? { kind: 'and', conditions: value.map((part) => documentCondition(part, budget, depth)) }
    : documentCondition(value, budget, depth);

/** `attr: { $op: value, ... }` or the shorthand `attr: value` (equality). */
function fieldCondition(attribute: string, spec: unknown, budget: TreeBudget, depth: number): Condition {
  budget.depth(depth);
  if (!isObject(spec) || !Object.keys(spec).some((k) => k.startsWith('$'))) {
    return budget.test({ attribute, operator: 'eq', value: spec });
  }
  const parts = Object.entries(spec).map(([key, value]): Condition => {
    if (key === '$not') {
      return { kind: 'not', condition: fieldCondition(attribute, value, budget, depth + 1) };
    }
    const operator = FIELD_OPERATORS.get(key);
    if (!operator) {
      throw invalidCriteria(
        `unknown operator "${key}" on ${attribute} ($eq, $ne, $lt, $lte, $gt, $gte, $in, $not)`,
      );
    }
    return budget.test({ attribute, operator, value });
  });
  return parts.length === 1 ? parts[0]! : { kind: 'and', conditions: parts };
}
