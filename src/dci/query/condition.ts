import { searchRejection } from '../errors.ts';

/**
 * The three DCI query forms (`query_type`: idtype-value, expression, predicate) parse to this one
 * condition tree; compile.ts turns it into SQL. Parsing checks shape only: which attributes and
 * operators exist, and who may use them, is compile's job.
 */

/** Comparison operators: the spec's predicate enum (gt, lt, eq, ge, le, in) plus `ne` from expressions. */
export type Operator = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'in';

export interface Test {
  kind: 'test';
  attribute: string;
  operator: Operator;
  value: unknown;
  /** idtype-value queries name an identifier type, any type the registry holds (not only listed attributes). */
  identifierType?: boolean;
}

export type Condition =
  Test | { kind: 'and' | 'or'; conditions: Condition[] } | { kind: 'not'; condition: Condition };

/** Bounds on a query's size: a search is one indexed SQL statement, not a program. */
export const QUERY_LIMITS = { tests: 20, depth: 6, values: 100 } as const;

/** Counts tests while a parser builds a tree, and refuses trees past the bounds. */
export class TreeBudget {
  private tests = 0;

  test(t: Omit<Test, 'kind'>): Test {
    this.tests += 1;
    if (this.tests > QUERY_LIMITS.tests) {
      throw invalidCriteria(`a query may hold at most ${QUERY_LIMITS.tests} conditions`);
    }
    return { kind: 'test', ...t };
  }

  depth(level: number): void {
    if (level > QUERY_LIMITS.depth) {
      throw invalidCriteria(`a query may nest at most ${QUERY_LIMITS.depth} levels`);
    }
  }
}

export const invalidCriteria = (message: string) => searchRejection('rjct.search_criteria.invalid', message);

export const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** `{ type: "UIN", value: "..." }`: one identifier of a given type (spec `SubscriptionInfo.filter.anyOf[1]`). */
export function parseIdTypeValue(query: unknown): Condition {
  if (!isObject(query) || typeof query['type'] !== 'string' || query['type'] === '') {
    throw invalidCriteria('an idtype-value query is { "type": <identifier type>, "value": <identifier> }');
  }
  const value = query['value'];
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw invalidCriteria('the identifier value of an idtype-value query must be a string');
  }
  return new TreeBudget().test({
    attribute: query['type'],
    operator: 'eq',
    value: String(value),
    identifierType: true,
  });
}

/** Spec predicate operators (`expression1.operator` enum) to ours. */
const PREDICATE_OPERATORS = new Map<unknown, Operator>([
  ['eq', 'eq'],
  ['lt', 'lt'],
  ['le', 'le'],
  ['gt', 'gt'],
  ['ge', 'ge'],
  ['in', 'in'],
]);

/**
 * The predicate list (spec `SubscriptionInfo.filter.anyOf[2]`): items `{ seq_num, expression1,
 * condition, expression2 }`. The spec gives no combination rule, so: an item is `expression1`, or
 * `expression1 <and|or> expression2`, or `expression1 and not expression2` (`not` alone negates
 * `expression1`); items are all required (and), in `seq_num` order.
 */
export function parsePredicates(query: unknown): Condition {
  if (!Array.isArray(query) || query.length === 0) {
    throw invalidCriteria(
      'a predicate query is a non-empty list of { seq_num, expression1, condition, expression2 }',
    );
  }
  const budget = new TreeBudget();
  const items = query
    .map((item: unknown, index) => ({ item, index }))
    .sort((a, b) => seqOf(a.item, a.index) - seqOf(b.item, b.index));
  const conditions = items.map(({ item, index }) => predicateItem(item, `query[${index}]`, budget));
  return conditions.length === 1 ? conditions[0]! : { kind: 'and', conditions };
}

const seqOf = (item: unknown, index: number): number =>
  isObject(item) && typeof item['seq_num'] === 'number'
    ? item['seq_num']
    : Number.MAX_SAFE_INTEGER - 1000 + index;

function predicateItem(item: unknown, where: string, budget: TreeBudget): Condition {
  if (!isObject(item)) {
    throw invalidCriteria(`${where} must be an object`);
  }
  const first = predicateTest(item['expression1'], `${where}.expression1`, budget);
  const condition = item['condition'];
  const hasSecond = item['expression2'] !== undefined;
  if (condition === undefined && !hasSecond) {
    return first;
  }
  if (condition === 'not' && !hasSecond) {
    return { kind: 'not', condition: first };
  }
  if (!hasSecond) {
    throw invalidCriteria(`${where}: condition "${String(condition)}" needs expression2`);
  }
  const second = predicateTest(item['expression2'], `${where}.expression2`, budget);
  switch (condition) {
    case 'and':
    case 'or':
      return { kind: condition, conditions: [first, second] };
    case 'not':
      return { kind: 'and', conditions: [first, { kind: 'not', condition: second }] };
    default:
      throw invalidCriteria(`${where}: unknown condition "${String(condition)}" (and, or, not)`);
  }
}

function predicateTest(expression: unknown, where: string, budget: TreeBudget): Test {
  if (!isObject(expression) || typeof expression['attribute_name'] !== 'string') {
    throw invalidCriteria(`${where} must be { attribute_name, operator, attribute_value }`);
  }
  const operator = PREDICATE_OPERATORS.get(expression['operator']);
  if (!operator) {
    throw invalidCriteria(
      `${where}: unknown operator "${String(expression['operator'])}" (eq, lt, le, gt, ge, in)`,
    );
  }
  if (expression['attribute_value'] === undefined) {
    throw invalidCriteria(`${where}: attribute_value is required`);
  }
  return budget.test({
    attribute: expression['attribute_name'],
    operator,
    value: expression['attribute_value'],
  });
}
