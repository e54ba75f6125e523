import { GraphQLScalarType, valueFromASTUntyped } from 'graphql/index.js';
import type { Principal } from '#platform/auth/principal';
import { identifierKey } from '#security/anomaly/lookup-keys';
import { inTurns } from '#platform/http/long-reads';
import { unstorableIn } from '#platform/http/input-guard';
import { keyset, Keys, type Keyset } from '#platform/http/pagination';
import { badRequest } from '#platform/problem';
import { compileFilter } from '#exports/plan';
import { withinScope } from '#dci/query/compile';
import { listHouseholds, listIndividuals } from '#registry/queries';
import { assertMayLookUp } from '#registry/views';
import type { Graph, GraphContext } from './context.ts';
import { fieldResolvers } from './fields.ts';
import { listEnrollments } from './queries.ts';

/**
 * The queries of the graph and the entity references a federated gateway resolves. Every read goes
 * through the registry's own queries with the caller's area scope, and every record through the
 * field policy's views (context.ts); filters on fields the caller may not see are refused, as in
 * the REST and DCI APIs.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AREA_CODE = /^[A-Za-z0-9-]{1,40}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const invalid = (argument: string, detail: string) =>
  badRequest(`${argument} ${detail}`, [{ pointer: argument, detail }]);

/** The value if it matches, else a 400 naming the argument; undefined stays undefined. */
function checked(value: string | null | undefined, pattern: RegExp, argument: string, what: string) {
  if (value === null || value === undefined) {
    return undefined;
  }
  if (!pattern.test(value) || (pattern === DATE_TIME && Number.isNaN(Date.parse(value)))) {
    throw invalid(argument, `must be ${what}`);
  }
  return value;
}
const uuid = (value: string | null | undefined, argument: string) => checked(value, UUID, argument, 'a UUID');
const areaCode = (value: string | null | undefined, argument: string) =>
  checked(value, AREA_CODE, argument, 'an admin area code');
const since = (value: string | null | undefined, argument: string) =>
  checked(value, DATE_TIME, argument, 'an ISO 8601 date-time');

/**
 * Rows a root list reads per query: a page of 500 households was one query that PGlite (on our
 * thread) took some 40 ms for, in which no other request was served (platform/http/long-reads.ts).
 */
const ROWS_PER_READ = 100;

/**
 * A page of `first + 1` rows (for a keyset page) read in keyset slices of ROWS_PER_READ, one query each;
 * `read(after, limit)` answers up to `limit + 1` rows after `after`, as the list queries do.
 */
async function inSlices<R extends { id: string }>(
  first: number,
  after: string | undefined,
  read: (after: string | undefined, limit: number) => Promise<R[]>,
): Promise<R[]> {
  const rows: R[] = [];
  let from = after;
  for (;;) {
    const wanted = Math.min(ROWS_PER_READ, first + 1 - rows.length);
    const slice = await read(from, wanted - 1);
    rows.push(...slice);
    if (slice.length < wanted || rows.length > first) {
      return rows;
    }
    from = slice.at(-1)!.id;
  }
}

/** The cursors of each connection: a cursor of another list is refused. */
const lists = {
  households: keyset('graphql.households', Keys.id),
  individuals: keyset('graphql.individuals', Keys.id),
  enrollments: keyset('graphql.enrollments', Keys.id),
};

/** The record id a cursor carries (cursors are opaque; one not issued for this list is refused). */
function afterKey(list: Keyset<string>, after: string | null | undefined): string | undefined {
  try {
    return list.after(after ?? undefined, 'after');
  } catch {
    // The kit's refusal is a REST problem; a GraphQL field fails with an error naming its argument.
    throw invalid('after', 'is not a cursor this API issued');
  }
}

/**
 * A Relay connection over `first + 1` rows ordered by id. Its nodes are shaped, and completed by
 * GraphQL, 50 per turn of the event loop (platform/http/long-reads.ts): 500 nodes at once held
 * every other request for some 30 ms.
 */
function connection<R extends { id: string }>(
  list: Keyset<string>,
  rows: R[],
  first: number,
  shape: (row: R) => Graph,
) {
  const page = list.page(rows, first, (row) => row.id);
  const nodes = inTurns(page.items, shape);
  const edges = page.items.map((row, i) => ({ cursor: list.cursor(row.id), node: nodes[i] }));
  return {
    edges,
    pageInfo: { hasNextPage: page.next_cursor !== null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/**
 * The `where` expression: a JSON object, or a string holding one (GraphQL literals cannot spell
 * keys such as `$lt`, so a query without variables writes the expression as a string).
 */
function expressionOf(where: unknown): unknown {
  if (typeof where !== 'string') {
    return where;
  }
  let expression: unknown;
  try {
    expression = JSON.parse(where) as unknown;
  } catch {
    throw invalid('where', 'must be a DCI expression: a JSON object, or a string holding one');
  }
  // What the request guard checks in a JSON body (NUL, numbers out of range), inside this string.
  const [unstorable] = unstorableIn(expression, 'where');
  if (unstorable) {
    throw invalid(unstorable.pointer, unstorable.detail);
  }
  return expression;
}

/** The `where` expression compiled for the entity (a 400 naming what is wrong), or undefined. */
const whereOf = (where: unknown, entity: 'group' | 'person', principal: Principal) =>
  where === null || where === undefined ? undefined : compileFilter(expressionOf(where), entity, principal);

/** Both parts of an identifier filter or neither; never a filter on a field the caller may not see. */
function identifierOf(
  principal: Principal,
  type: string | null | undefined,
  value: string | null | undefined,
) {
  if ((type ?? undefined) === undefined && (value ?? undefined) === undefined) {
    return undefined;
  }
  if (!type || !value) {
    throw invalid(type ? 'filter.identifierValue' : 'filter.identifierType', 'is required with the other');
  }
  assertMayLookUp(principal, 'identifier');
  return { type, value };
}

interface Page {
  first: number;
  after?: string | null;
  where?: unknown;
}
interface HouseholdArgs extends Page {
  filter?: { adminArea?: string | null; status?: string | null; updatedSince?: string | null } | null;
}
interface IndividualArgs extends Page {
  filter?: {
    householdId?: string | null;
    sex?: string | null;
    isDeceased?: boolean | null;
    adminArea?: string | null;
    identifierType?: string | null;
    identifierValue?: string | null;
    updatedSince?: string | null;
  } | null;
}
interface EnrollmentArgs extends Page {
  filter?: {
    programCode?: string | null;
    status?: string | null;
    householdId?: string | null;
    individualId?: string | null;
    updatedSince?: string | null;
  } | null;
}

const query = {
  household: async (_root: unknown, { id }: { id: string }, ctx: GraphContext) => {
    const row = UUID.test(id) ? await ctx.households.load(id) : undefined;
    ctx.lookedUp(`household:${id}`, row !== undefined);
    return row ? ctx.household(row) : null;
  },

  households: async (_root: unknown, { first, after, filter, where }: HouseholdArgs, ctx: GraphContext) => {
    const filters = {
      scope: ctx.principal.areaScope,
      adminArea: areaCode(filter?.adminArea, 'filter.adminArea'),
      status: filter?.status ?? undefined,
      updatedSince: since(filter?.updatedSince, 'filter.updatedSince'),
      where: whereOf(where, 'group', ctx.principal),
    };
    const rows = await inSlices(first, afterKey(lists.households, after), (from, limit) =>
      listHouseholds(ctx.db, { ...filters, after: from, limit }),
    );
    return connection(lists.households, rows, first, ctx.household);
  },

  individual: async (_root: unknown, { id }: { id: string }, ctx: GraphContext) => {
    const row = UUID.test(id) ? await ctx.individuals.load(id) : undefined;
    ctx.lookedUp(`individual:${id}`, row !== undefined);
    return row ? ctx.individual(row) : null;
  },

  individuals: async (_root: unknown, { first, after, filter, where }: IndividualArgs, ctx: GraphContext) => {
    const identifier = identifierOf(ctx.principal, filter?.identifierType, filter?.identifierValue);
    const filters = {
      scope: ctx.principal.areaScope,
      householdId: uuid(filter?.householdId, 'filter.householdId'),
      sex: filter?.sex ?? undefined,
      isDeceased: filter?.isDeceased ?? undefined,
      adminArea: areaCode(filter?.adminArea, 'filter.adminArea'),
      identifier,
      updatedSince: since(filter?.updatedSince, 'filter.updatedSince'),
      where: whereOf(where, 'person', ctx.principal),
    };
    const rows = await inSlices(first, afterKey(lists.individuals, after), (from, limit) =>
      listIndividuals(ctx.db, { ...filters, after: from, limit }),
    );
    if (identifier) {
      ctx.lookedUp(identifierKey(identifier.type, identifier.value), rows.length > 0);
    }
    if (filter?.householdId) {
      ctx.lookedUp(`household:${filter.householdId}`, rows.length > 0);
    }
    return connection(lists.individuals, rows, first, ctx.individual);
  },

  programs: (_root: unknown, _args: unknown, ctx: GraphContext) => ctx.programs(),

  enrollments: async (_root: unknown, { first, after, filter, where }: EnrollmentArgs, ctx: GraphContext) => {
    if (!(await ctx.mayReadIbr())) {
      return null;
    }
    const condition = compileFilter(expressionOf(where), 'beneficiary', ctx.principal);
    const filters = {
      programCode: filter?.programCode ?? undefined,
      status: filter?.status ?? undefined,
      householdId: uuid(filter?.householdId, 'filter.householdId'),
      individualId: uuid(filter?.individualId, 'filter.individualId'),
      updatedSince: since(filter?.updatedSince, 'filter.updatedSince'),
      where: withinScope(condition, 'beneficiary', ctx.principal.areaScope),
    };
    const rows = await inSlices(first, afterKey(lists.enrollments, after), (from, limit) =>
      listEnrollments(ctx.db, { ...filters, after: from, limit }),
    );
    return connection(lists.enrollments, rows, first, ctx.enrollment);
  },
};

/**
 * `_entities` of a federated gateway: a record it holds the key of, within the caller's scope and
 * policy, or null. Counted as lookups, like reads by id (the anomaly guard sees enumerations).
 */
const reference =
  <R>(
    type: string,
    load: (ctx: GraphContext, id: string) => Promise<R | undefined>,
    shape: (ctx: GraphContext, row: R) => Graph | undefined,
  ) =>
  async ({ id }: { id: string }, ctx: GraphContext) => {
    const row = typeof id === 'string' && UUID.test(id) ? await load(ctx, id) : undefined;
    ctx.lookedUp(`${type}:${String(id)}`, row !== undefined);
    return row === undefined ? null : (shape(ctx, row) ?? null);
  };

/** Any JSON value, for `where` (literals are read as JSON; variables arrive as JSON already). */
const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

/** Every resolver of the schema (schema.ts), for buildSubgraphSchema. */
export const resolvers = {
  JSON: JSONScalar,
  Query: query,
  Household: {
    ...fieldResolvers.Household,
    __resolveReference: reference(
      'household',
      (ctx, id) => ctx.households.load(id),
      (ctx, row) => ctx.household(row),
    ),
  },
  Individual: {
    ...fieldResolvers.Individual,
    __resolveReference: reference(
      'individual',
      (ctx, id) => ctx.individuals.load(id),
      (ctx, row) => ctx.individual(row),
    ),
  },
  Enrollment: {
    ...fieldResolvers.Enrollment,
    __resolveReference: reference(
      'enrollment',
      async (ctx, id) => ((await ctx.mayReadIbr()) ? ctx.enrollments.load(id) : undefined),
      (ctx, row) => ctx.enrollment(row),
    ),
  },
  Program: {
    __resolveReference: reference(
      'program',
      (ctx, id) => ctx.program(id),
      (_ctx, program) => program,
    ),
  },
};
