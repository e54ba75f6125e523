import type { ExportRecord } from '../source.ts';
import type { Column } from '../plan.ts';
import { csvFormat } from './csv.ts';
import { jsonFormat, ndjsonFormat } from './json.ts';
import { parquetFormat } from './parquet.ts';
import { xmlFormat } from './xml.ts';

/**
 * Each format turns batches of records into bytes, as they come: a writer keeps no more than a
 * batch (Parquet: a row group) in memory, so an export's memory does not grow with its size.
 */

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson', 'xml', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type Chunk = string | Uint8Array;

export interface FormatWriter {
  start(): Chunk;
  batch(records: readonly ExportRecord[]): Chunk;
  end(): Chunk;
}

/** What a writer knows of the export besides its records. */
export interface ExportDescription {
  entity: 'households' | 'individuals' | 'household_members';
  definition: string;
  version: number;
  columns: readonly Column[];
  memberColumns: readonly Column[] | undefined;
}

export interface Format {
  contentType: string;
  extension: string;
  /** Can hold households with their members nested. */
  nests: boolean;
  writer(description: ExportDescription): FormatWriter;
}

export const FORMATS: Record<ExportFormat, Format> = {
  csv: csvFormat,
  json: jsonFormat,
  ndjson: ndjsonFormat,
  xml: xmlFormat,
  parquet: parquetFormat,
};
