import type { FieldValue } from '../fields.ts';
import type { Column } from '../plan.ts';
import type { ExportRecord } from '../source.ts';
import type { Format } from './index.ts';

/**
 * JSON: `{ "definition", "version", "entity", "records": [ ... ] }`, one object per record with the
 * selected fields as keys (null when empty), lists as arrays, nested members as `members`. NDJSON:
 * one such record object per line, nothing else.
 */

function objectOf(columns: readonly Column[], values: readonly FieldValue[]): Record<string, FieldValue> {
  const object: Record<string, FieldValue> = {};
  columns.forEach((column, i) => {
    object[column.name] = values[i] ?? null;
  });
  return object;
}

export function recordObject(
  columns: readonly Column[],
  memberColumns: readonly Column[] | undefined,
  record: ExportRecord,
) {
  const object: Record<string, unknown> = objectOf(columns, record.values);
  if (memberColumns) {
    object['members'] = (record.members ?? []).map((member) => objectOf(memberColumns, member));
  }
  return object;
}

export const jsonFormat: Format = {
  contentType: 'application/json; charset=utf-8',
  extension: 'json',
  nests: true,
  writer({ entity, definition, version, columns, memberColumns }) {
    let first = true;
    return {
      start: () =>
        `{"definition":${JSON.stringify(definition)},"version":${version},"entity":"${entity}","records":[`,
      batch: (records) =>
        records
          .map((record) => {
            const text = JSON.stringify(recordObject(columns, memberColumns, record));
            const separated = first ? `\n${text}` : `,\n${text}`;
            first = false;
            return separated;
          })
          .join(''),
      end: () => '\n]}\n',
    };
  },
};

export const ndjsonFormat: Format = {
  contentType: 'application/x-ndjson; charset=utf-8',
  extension: 'ndjson',
  nests: true,
  writer({ columns, memberColumns }) {
    return {
      start: () => '',
      batch: (records) =>
        records.map((record) => `${JSON.stringify(recordObject(columns, memberColumns, record))}\n`).join(''),
      end: () => '',
    };
  },
};
