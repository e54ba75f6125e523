/**
 * The baseline of the DCI search benchmark: a bare Fastify app (no options, no plugins) with one
 * POST route that takes the same DCI message, reads the query's values from it at fixed places
 * without checking anything, runs the SQL statements the DCI sync search runs for those values, and
 * answers the rows as they come. Nothing else: no API key, no schema validation of the message, no
 * envelope, no exchange record, no field policy or DCI record shaping, no signature, no audit entry.
 *
 * The statements are written out by hand, as the DCI query compiler (src/dci/query/) and record
 * loader (src/dci/load.ts, query/queries.ts) produce them for Group records; dci-search.ts checks on
 * every run that they are the statements, with the same parameters, that the gateway ran.
 */
import Fastify from 'fastify';
import { DEFAULT_LIMITS } from '#dci/query/criteria';

/** Runs one statement with its values and returns the rows. */
export type Execute = (sql: string, values: unknown[]) => Promise<Record<string, unknown>[]>;

export const BASELINE_PATH = '/search';

/** compile.ts, idtype-value `{ type, value }` on Group records: a member of the household holds it. */
const BY_IDENTIFIER = `exists (select 1 from individuals m where m.household_id = h.id and exists (select 1 from identifiers x where x.individual_id = "m"."id" and x.id_type = $1 and "x"."id_value" = $2))`;

/** compile.ts, expression `{ $and: [{ admin_area_code: { $eq } }, { poverty_score: { $lt } }] }`. */
const IN_AREA_BELOW_SCORE = `(("h"."admin_area_code" = $1 or "h"."admin_area_code" like $2) and "h"."pmt_score" < $3::numeric)`;

/** queries.ts countMatches: how many match, counting no further than the cap + 1. */
const countSql = (where: string, next: number) =>
  `select count(*)::int as n from (select 1 from households h where ${where} limit $${next}) matches`;

/** queries.ts pageOfIds, with the default order (compile.ts compileSort: the id). */
const pageSql = (where: string, next: number) =>
  `select h.id as id from households h where ${where} order by "h"."id" limit $${next} offset $${next + 1}`;

const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');

/** queries.ts householdsByIds (load.ts loadGroups). */
const householdsSql = (n: number) =>
  `select "h".*, (select count(*)::int from individuals m where m.household_id = h.id) as "member_count" from "households" as "h" where "h"."id" in (${placeholders(n)})`;

/** queries.ts membersOfHouseholds (load.ts loadGroups): the head first, then by birth date. */
const membersSql = (n: number) =>
  `select "i".*, coalesce((select json_agg(json_build_object('type', x.id_type, 'value', x.id_value) order by x.id_type, x.id_value) from identifiers x where x.individual_id = i.id), '[]'::json) as "identifiers" from "individuals" as "i" where "i"."household_id" in (${placeholders(n)}) order by "i"."household_id", i.relationship_to_head <> 'SELF', "i"."birth_date", "i"."id"`;

// The message is read as the benchmark writes it; anything else fails with a 500, which fails the run.
interface Criteria {
  query_type: string;
  query: {
    type?: string;
    value:
      | string
      | {
          expression: { query: { $and: [Record<string, { $eq: string }>, Record<string, { $lt: number }>] } };
        };
  };
  pagination: { page_size: number; page_number: number };
}

/** The search condition and its values, for the two query forms of the benchmark. */
function conditionOf(criteria: Criteria): { where: string; values: unknown[] } {
  const { query } = criteria;
  if (typeof query.value === 'string') {
    return { where: BY_IDENTIFIER, values: [query.type, query.value] };
  }
  const [area, score] = query.value.expression.query.$and;
  const code = area['admin_area_code']!.$eq;
  return { where: IN_AREA_BELOW_SCORE, values: [code, `${code}-%`, score['poverty_score']!.$lt] };
}

/**
 * The search's statements, in the order and with the values the DCI path uses (search-item.ts
 * pageAndTotal): the first page, then the count only when that page is full or not the first.
 */
async function search(execute: Execute, criteria: Criteria) {
  const { where, values } = conditionOf(criteria);
  const next = values.length + 1;
  const { page_size: size, page_number: number } = criteria.pagination;
  const { maxRecords } = DEFAULT_LIMITS;
  const page = async (offset: number) =>
    (await execute(pageSql(where, next), [...values, size, offset])).map((row) => row['id']);
  const first = number === 1 ? await page(0) : undefined;
  let total = first?.length ?? 0;
  if (!first || first.length === size || first.length > maxRecords) {
    [{ n: total }] = (await execute(countSql(where, next), [...values, maxRecords + 1])) as [{ n: number }];
  }
  if (total > maxRecords || total === 0) {
    return { total_count: total, households: [], members: [] };
  }
  const ids = first ?? (await page((number - 1) * size));
  const households = await execute(householdsSql(ids.length), ids);
  const members = await execute(membersSql(ids.length), ids);
  return { total_count: total, households, members };
}

/** The bare app, listening on a free port of 127.0.0.1. */
export async function startBaseline(execute: Execute): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify();
  app.post(BASELINE_PATH, async (request) => {
    const body = request.body as { message: { search_request: [{ search_criteria: Criteria }] } };
    return search(execute, body.message.search_request[0].search_criteria);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}
