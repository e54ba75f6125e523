import { GraphQLError } from 'graphql/index.js';
import { maySee } from '#platform/auth/principal';
import type { FieldClass } from '#platform/auth/roles';
import { fieldClassOf } from '#registry/views';
import type { Graph, GraphContext } from './context.ts';

/**
 * The field policy in the graph, and the links between records.
 *
 * The views (registry/views.ts) leave out the fields the caller may not see, so a withheld value
 * never reaches the graph. A client asking for such a field gets null there and one error naming
 * the field, whatever the number of records it nulls (an analyst listing 500 persons' names gets
 * one error, not 500): the data it may see arrives, and a withheld value is not mistaken for an
 * empty one. The error travels through a federated gateway, which drops a subgraph's response
 * extensions. Its code is FIELD_WITHHELD; its path is the first place the field was asked for.
 */

type GraphType = 'Household' | 'Individual' | 'Enrollment';
const ENTITY_OF = { Household: 'household', Individual: 'individual', Enrollment: 'enrollment' } as const;

const camel = (name: string) => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** One resolver per classed field: the value, or null and (once per field) an error naming it. */
function policyResolvers(type: GraphType) {
  const classes: Record<string, FieldClass> = fieldClassOf[ENTITY_OF[type]];
  return Object.fromEntries(
    Object.entries(classes).map(([column, fieldClass]) => {
      const field = camel(column);
      const resolve = (source: Graph, _args: unknown, ctx: GraphContext) => {
        if (maySee(ctx.principal, fieldClass)) {
          return source[field] ?? null;
        }
        const coordinate = `${type}.${field}`;
        if (ctx.withheld.has(coordinate)) {
          return null;
        }
        ctx.withheld.add(coordinate);
        throw new GraphQLError(
          `${coordinate} is withheld: your role or data sharing agreement hides the field class "${fieldClass}"`,
          { extensions: { code: 'FIELD_WITHHELD', field: coordinate, fieldClass } },
        );
      };
      return [field, resolve];
    }),
  );
}

const shapeAll = <R>(rows: readonly R[], shape: (row: R) => Graph) => rows.map(shape);
const str = (source: Graph, key: string) => source[key] as string;

/** Resolvers of the fields of Household, Individual and Enrollment. */
export const fieldResolvers = {
  Household: {
    ...policyResolvers('Household'),
    members: async (h: Graph, _args: unknown, ctx: GraphContext) =>
      shapeAll(await ctx.members.load(str(h, 'id')), ctx.individual),
    enrollments: async (h: Graph, _args: unknown, ctx: GraphContext) =>
      (await ctx.mayReadIbr())
        ? shapeAll(await ctx.householdEnrollments.load(str(h, 'id')), ctx.enrollment)
        : null,
  },
  Individual: {
    ...policyResolvers('Individual'),
    household: async (i: Graph, _args: unknown, ctx: GraphContext) => {
      const row = await ctx.households.load(str(i, 'householdId'));
      return row && ctx.household(row);
    },
    enrollments: async (i: Graph, _args: unknown, ctx: GraphContext) => {
      if (!(await ctx.mayReadIbr())) {
        return null;
      }
      const person = { id: str(i, 'id'), householdId: str(i, 'householdId') };
      return shapeAll(await ctx.personEnrollments.load(person), ctx.enrollment);
    },
  },
  Enrollment: {
    ...policyResolvers('Enrollment'),
    program: (e: Graph, _args: unknown, ctx: GraphContext) =>
      ctx.program((e['program'] as { id: string }).id),
    beneficiaryType: (e: Graph) => beneficiaryOf(e).type,
    individual: async (e: Graph, _args: unknown, ctx: GraphContext) => {
      const { type, id } = beneficiaryOf(e);
      const row = type === 'individual' ? await ctx.individuals.load(id) : undefined;
      return row ? ctx.individual(row) : null;
    },
    household: async (e: Graph, _args: unknown, ctx: GraphContext) => {
      const { type, id } = beneficiaryOf(e);
      const row = type === 'household' ? await ctx.households.load(id) : undefined;
      return row ? ctx.household(row) : null;
    },
  },
};

const beneficiaryOf = (e: Graph) => e['beneficiary'] as { type: 'individual' | 'household'; id: string };
