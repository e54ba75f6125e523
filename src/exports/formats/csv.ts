import { stringify } from 'csv-stringify/sync';
import type { FieldValue, Identifier } from '../fields.ts';
import type { Format } from './index.ts';

/**
 * RFC 4180 CSV in UTF-8 (csv-stringify): a header row of field names, CRLF line ends, quotes where
 * a value needs them. Lists have no cell type of their own: codes are joined with ";" and
 * identifiers written `TYPE:value;TYPE:value`. Empty cell: no value. No nesting (household members
 * are exported by the household_members entity).
 */
export const csvFormat: Format = {
  contentType: 'text/csv; charset=utf-8; header=present',
  extension: 'csv',
  nests: false,
  writer({ columns }) {
    return {
      start: () => csvHeader(columns),
      batch: (records) =>
        stringify(
          records.map((record) => record.values.map(cell)),
          OPTIONS,
        ),
      end: () => '',
    };
  },
};

const OPTIONS = { record_delimiter: 'windows' as const };

/** The header row: the field names. */
export const csvHeader = (columns: readonly { name: string }[]): string =>
  stringify([columns.map((column) => column.name)], OPTIONS);

function cell(value: FieldValue): string {
  if (value === null) {
    return '';
  }
  if (Array.isArray(value)) {
    return value
      .map((item: string | Identifier) => (typeof item === 'string' ? item : `${item.type}:${item.value}`))
      .join(';');
  }
  return String(value);
}
