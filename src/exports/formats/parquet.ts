import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { FieldType, FieldValue } from '../fields.ts';
import type { Column } from '../plan.ts';
import type { ExportRecord } from '../source.ts';
import type { ExportDescription, Format, FormatWriter } from './index.ts';

/**
 * Apache Parquet (hyparquet-writer), for analysts: one column per selected field, every column
 * optional (null when empty); strings and dates as UTF8, timestamps as TIMESTAMP_MILLIS, lists as
 * JSON. Records are written in row groups of ROW_GROUP rows as they come; the bytes of each group
 * leave at once, the footer (schema, row group offsets) at the end.
 */

const ROW_GROUP = 10_000;

type Element = { type: string; converted_type?: string };
const PARQUET_TYPE: Record<FieldType, Element> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  date: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  integer: { type: 'INT32' },
  number: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  timestamp: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
  codes: { type: 'BYTE_ARRAY', converted_type: 'JSON' },
  identifiers: { type: 'BYTE_ARRAY', converted_type: 'JSON' },
};

const schemaOf = (columns: readonly Column[]) => [
  { name: 'root', num_children: columns.length },
  ...columns.map((column) => ({
    name: column.name,
    repetition_type: 'OPTIONAL',
    ...PARQUET_TYPE[column.type],
  })),
];

const cell = (type: FieldType, value: FieldValue) =>
  value !== null && type === 'timestamp' ? new Date(value as string) : value;

/** The bytes written since the last call (the writer's buffer is reused). */
function drain(bytes: ByteWriter): Uint8Array {
  const chunk = Buffer.from(bytes.getBytes());
  bytes.index = 0;
  return chunk;
}

export const parquetFormat: Format = {
  contentType: 'application/vnd.apache.parquet',
  extension: 'parquet',
  nests: false,
  writer: (description) => parquetWriter(description),
};

/** A Parquet writer with row groups of `rowGroupRows` records (tests use small groups). */
export function parquetWriter(
  { columns, definition, version }: ExportDescription,
  rowGroupRows = ROW_GROUP,
): FormatWriter {
  const bytes = new ByteWriter();
  const parquet = new ParquetWriter({
    writer: bytes,
    schema: schemaOf(columns) as never,
    kvMetadata: [
      { key: 'spx.definition', value: definition },
      { key: 'spx.version', value: String(version) },
    ],
    createdBy: 'SP Exchange',
  });
  let pending: ExportRecord[] = [];
  const writeGroup = () => {
    if (pending.length > 0) {
      const rows = pending;
      pending = [];
      void parquet.write({
        columnData: columns.map((column, i) => ({
          name: column.name,
          data: rows.map((record) => cell(column.type, record.values[i] ?? null)),
        })),
        rowGroupSize: rows.length,
      });
    }
    return drain(bytes);
  };
  return {
    start: () => drain(bytes),
    batch: (records) => {
      pending.push(...records);
      return pending.length >= rowGroupRows ? writeGroup() : new Uint8Array();
    },
    end: () => {
      const lastGroup = writeGroup();
      // Synchronous with a ByteWriter, which has no flush to wait for.
      void parquet.finish();
      return Buffer.concat([lastGroup, drain(bytes)]);
    },
  };
}
