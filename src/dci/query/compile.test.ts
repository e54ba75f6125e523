import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { principalFor } from '#platform/auth/principal';
import type { Role } from '#platform/auth/roles';
import type { DB } from '#platform/db/types';
import { DciError } from '../errors.ts';
import { compileCondition } from './compile.ts';
import { parseIdTypeValue, parsePredicates, QUERY_LIMITS } from './condition.ts';
import { parseExpression } from './expression.ts';

// Compiles SQL without a database, to look at the text and the bound parameters.
const db = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});
const as = (role: Role) => principalFor({ id: 'c', name: 'c', role }, { id: 'k', scopes: ['registry:read'] });
const compiled = (where: ReturnType<typeof compileCondition>) => sql`select 1 where ${where}`.compile(db);
const expression = (query: unknown) => ({
  type: 'expression',
  value: { expression: { collection: 'Group', query } },
});

const rejection = (fn: () => unknown): DciError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DciError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a DciError');
};

describe('DCI query compilation', () => {
  it('binds every value as a parameter, never as SQL text', () => {
    const hostile = "x' or 1=1 --";
    const where = compileCondition(parseIdTypeValue({ type: 'UIN', value: hostile }), 'person', as('admin'));
    const { sql: text, parameters } = compiled(where);
    expect(text).not.toContain(hostile);
    expect(parameters).toEqual(['UIN', hostile]);
  });

  it('compiles a predicate list to and/or/not over indexed columns', () => {
    const condition = parsePredicates([
      { seq_num: 2, expression1: { attribute_name: 'location', operator: 'eq', attribute_value: 'R01' } },
      {
        seq_num: 1,
        expression1: { attribute_name: 'poverty_score', operator: 'lt', attribute_value: '5' },
        condition: 'not',
        expression2: { attribute_name: 'group_size', operator: 'in', attribute_value: '1,2' },
      },
    ]);
    const { sql: text, parameters } = compiled(compileCondition(condition, 'group', as('admin')));
    expect(text).toContain('"h"."pmt_score" < $1::numeric and not (');
    expect(text).toContain('"h"."admin_area_code" = $4 or "h"."admin_area_code" like $5');
    expect(parameters).toEqual([5, 1, 2, 'R01', 'R01-%']);
  });

  it('reads the spec expression example, and several operators on one attribute as "and"', () => {
    const parsed = parseExpression(
      expression({
        $and: [
          { poverty_score: { $lt: 5 } },
          { location: { $eq: 'R01' } },
          { group_size: { $gt: 1, $lte: 4 } },
        ],
      }),
    );
    expect(parsed.collection).toBe('Group');
    const { parameters } = compiled(compileCondition(parsed.condition, 'group', as('admin')));
    expect(parameters).toEqual([5, 'R01', 'R01-%', 1, 4]);
  });

  it.each([
    [
      'an unknown operator',
      () => parseExpression(expression({ poverty_score: { $where: 'sleep(1)' } })),
      /unknown operator "\$where"/,
    ],
    [
      'a condition without its second expression',
      () =>
        parsePredicates([
          {
            expression1: { attribute_name: 'sex', operator: 'eq', attribute_value: 'male' },
            condition: 'or',
          },
        ]),
      /needs expression2/,
    ],
    [
      'an operator name from the prototype',
      () =>
        parsePredicates([
          { expression1: { attribute_name: 'sex', operator: 'constructor', attribute_value: 'x' } },
        ]),
      /unknown operator/,
    ],
    [
      'too many conditions',
      () =>
        parseExpression(
          expression({ $or: Array.from({ length: QUERY_LIMITS.tests + 1 }, () => ({ group_size: 1 })) }),
        ),
      /at most/,
    ],
    [
      'too deep a query',
      () =>
        parseExpression(
          expression({ $not: { $not: { $not: { $not: { $not: { $not: { group_size: 1 } } } } } } }),
        ),
      /nest/,
    ],
    [
      'an attribute from the prototype',
      () =>
        compileCondition(
          parsePredicates([
            { expression1: { attribute_name: 'toString', operator: 'eq', attribute_value: 'x' } },
          ]),
          'group',
          as('admin'),
        ),
      /unknown attribute "toString"/,
    ],
    [
      'a malformed identifier type',
      () =>
        compileCondition(parseIdTypeValue({ type: 'UIN; drop table', value: '1' }), 'person', as('admin')),
      /unknown attribute/,
    ],
    [
      'a huge "in" list',
      () =>
        compileCondition(
          parsePredicates([
            {
              expression1: {
                attribute_name: 'group_size',
                operator: 'in',
                attribute_value: Array.from({ length: 101 }, (_, i) => String(i)).join(','),
              },
            },
          ]),
          'group',
          as('admin'),
        ),
      /1 to 100 values/,
    ],
  ])('refuses %s', (_name, run, message) => {
    const error = rejection(run);
    expect(error.code).toBe('rjct.search_criteria.invalid');
    expect(error.message).toMatch(message);
  });

  it('refuses a filter on a field the role may not see, wherever it sits in the tree', () => {
    const condition = parseExpression(
      expression({ $or: [{ location: 'R01' }, { $not: { UIN: '1' } }] }),
    ).condition;
    expect(() => compileCondition(condition, 'group', as('admin'))).not.toThrow();
    expect(rejection(() => compileCondition(condition, 'group', as('analyst'))).message).toMatch(
      /may not search by UIN/,
    );
  });
});
