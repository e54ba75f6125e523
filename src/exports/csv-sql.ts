import { sql, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '#platform/db/types';
import type { Column, ExportPlan } from './plan.ts';

/**
 * CSV written by the database: on PostgreSQL by COPY itself (csvCopyQuery), elsewhere (PGlite) each
 * row comes back as its finished CSV line, so the gateway only joins lines instead of reading typed
 * values, shaping records and quoting cells. The text of each
 * type is the one the record values give (formats/csv.ts: `String(value)`, lists joined with ";"),
 * which the round-trip tests check on both engines. Used for households and individuals exports
 * that are not pseudonymised (the keyed hash is computed by the gateway).
 */

/**
 * Lines per query on PGlite, which runs the query on our thread: 500 lines of every person field
 * take about 16 ms of it, 10,000 took 370 ms during which no other request was served.
 */
export const SQL_CSV_BATCH = 500;

/** Whether this plan's CSV can be written by the database. */
export const csvBySql = (plan: ExportPlan, pseudonymised: boolean): boolean =>
  plan.format === 'csv' && !pseudonymised && plan.entity !== 'household_members' && plan.columns.length > 0;

function textOf(column: Column): RawBuilder<string | null> {
  const value = column.column;
  switch (column.type) {
    case 'number':
      // float8 prints the shortest text that reads back the same double, like JavaScript.
      return sql`(${value})::float8::text`;
    case 'boolean':
      return sql`case when ${value} then 'true' when not ${value} then 'false' end`;
    case 'timestamp':
      return sql`to_char((${value}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    case 'codes':
      return sql`array_to_string(${value}, ';')`;
    case 'identifiers':
      // Already `TYPE:value;TYPE:value` (fields.ts).
      return sql`${value}`;
    case 'string':
    case 'integer':
    case 'date':
      // A date prints as YYYY-MM-DD (DateStyle ISO), as stored.
      return sql`(${value})::text`;
  }
}

/** RFC 4180: a cell holding a comma, quote or line break is quoted, its quotes doubled; null is empty. */
const cellOf = (text: RawBuilder<string | null>) =>
  sql<string>`coalesce(case when ${text} ~ '[",\\r\\n]' then '"' || replace(${text}, '"', '""') || '"' else ${text} end, '')`;

const lineOf = (columns: readonly Column[]) =>
  sql<string>`concat_ws(',', ${sql.join(columns.map((column) => cellOf(textOf(column))))})`;

/** The CSV lines of the plan's records after `after`, in id order. */
export async function csvLinesAfter(
  db: Kysely<DB>,
  plan: ExportPlan,
  after: string | undefined,
  limit = SQL_CSV_BATCH,
): Promise<{ id: string; line: string }[]> {
  const alias = plan.entity === 'individuals' ? 'i' : 'h';
  const table = plan.entity === 'individuals' ? sql`individuals i` : sql`households h`;
  const id = sql.ref(`${alias}.id`);
  const { rows } = await sql<{ id: string; line: string }>`select ${id} as id, ${lineOf(plan.columns)} as line
    from ${table}
    where ${plan.where} ${after === undefined ? sql`` : sql`and ${id} > ${after}`}
    order by ${id} limit ${limit}`.execute(db);
  return rows;
}

/**
 * The plan's records as one query of text columns, for COPY ... TO STDOUT WITH (FORMAT csv) on
 * PostgreSQL: COPY quotes the cells itself (RFC 4180) and streams the rows as the reader reads.
 */
export function csvCopyQuery(db: Kysely<DB>, plan: ExportPlan, maxRows: number): CompiledQuery {
  const alias = plan.entity === 'individuals' ? 'i' : 'h';
  const table = plan.entity === 'individuals' ? sql`individuals i` : sql`households h`;
  const id = sql.ref(`${alias}.id`);
  const columns = sql.join(plan.columns.map((column) => sql`${textOf(column)} as ${sql.id(column.name)}`));
  const limit = Number.isFinite(maxRows) ? sql`limit ${maxRows}` : sql``;
  return sql`select ${columns} from ${table} where ${plan.where} order by ${id} ${limit}`.compile(db);
}
