/**
 * The searches of the DCI search benchmark (dci-search.ts; the ID lookup also in security-overhead.ts):
 * their criteria, the values sent (one per request in turn, the same spread in every run of a size),
 * and the message template they are sent in.
 */
import type { Database } from '#platform/db/database';
import { DEFAULT_LIMITS } from '#dci/query/criteria';

export interface Scenario {
  name: string;
  /** Short and the same at every size: names its figures in the history. */
  label: string;
  /** search_criteria with `{{value}}` in place of the query. */
  criteria: Record<string, unknown>;
  /** Queries (JSON), one per request in turn. */
  values: string[];
}

/** idtype-value by national ID (the seed's UIN), on Group records: the spec's minimal example. */
export async function idLookup(database: Database): Promise<Scenario> {
  const { rows } = await database.executeSql<{ value: string }>(
    `select id_value as value from identifiers where id_type = 'UIN' order by md5(id_value) limit $1`,
    [20_000],
  );
  return {
    name: 'ID lookup: idtype-value UIN, Group records, page_size 10',
    label: 'ID lookup',
    criteria: {
      query_type: 'idtype-value',
      query: '{{value}}',
      pagination: { page_size: 10, page_number: 1 },
    },
    values: rows.map((row) => JSON.stringify({ type: 'UIN', value: row.value })),
  };
}

const THRESHOLDS = [25, 30, 35];

/**
 * Expression on Group records: a district (admin area of level 2, with the villages below it) and a
 * PMT score below a threshold, page of 100. Every district and threshold with at least one match and
 * no more than the search limit (DEFAULT_LIMITS.maxRecords), in turn.
 */
export async function districtAndScore(database: Database): Promise<Scenario> {
  const { rows } = await database.executeSql<{ code: string; threshold: number; n: number }>(
    // A district's code is the first two parts of its villages' codes (R01-D03-V012).
    `select code, threshold, n from (
       select substring(h.admin_area_code from '^[^-]+-[^-]+') as code, t.threshold, count(*)::int as n
         from households h join unnest($1::int[]) t(threshold) on h.pmt_score < t.threshold
        where h.admin_area_code like '%-%' group by 1, 2) pairs
      where n <= $2 order by md5(code || threshold)`,
    [THRESHOLDS, DEFAULT_LIMITS.maxRecords],
  );
  const expression = (code: string, threshold: number) => ({
    type: 'ns:org:QueryType:expression',
    value: {
      expression: {
        collection: 'Group',
        query: { $and: [{ admin_area_code: { $eq: code } }, { poverty_score: { $lt: threshold } }] },
      },
    },
  });
  const mean = rows.reduce((sum, row) => sum + row.n, 0) / Math.max(1, rows.length);
  return {
    name: `district + PMT: expression, Group records, page_size 100 (${rows.length} district/threshold pairs, ${mean.toFixed(0)} matches on average)`,
    label: 'District + PMT',
    criteria: {
      query_type: 'expression',
      query: '{{value}}',
      pagination: { page_size: 100, page_number: 1 },
    },
    values: rows.map((row) => JSON.stringify(expression(row.code, row.threshold))),
  };
}

/** A sync search message (DCI envelope) with one search_request; `{{n}}` makes its ids unique. */
export function messageTemplate(criteria: Record<string, unknown>): string {
  const now = new Date().toISOString();
  const message = {
    header: {
      version: '1.0.0',
      message_id: 'bench-msg-{{n}}',
      message_ts: now,
      action: 'search',
      sender_id: 'bench.spx.example',
      total_count: 1,
      is_msg_encrypted: false,
    },
    message: {
      transaction_id: 'bench-txn-{{n}}',
      search_request: [
        {
          reference_id: 'bench-ref-{{n}}',
          timestamp: now,
          search_criteria: {
            version: '1.0.0',
            reg_type: 'ns:org:RegistryType:Social',
            reg_record_type: 'Group',
            ...criteria,
          },
          locale: 'eng',
        },
      ],
    },
  };
  return JSON.stringify(message).replace('"{{value}}"', '{{value}}');
}
