import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';
import type { DefinitionRow } from './definitions.ts';
import { csvBySql, csvCopyQuery, csvLinesAfter, SQL_CSV_BATCH } from './csv-sql.ts';
import { csvHeader } from './formats/csv.ts';
import { FORMATS, type Chunk } from './formats/index.ts';
import { planExport, type ExportPlan } from './plan.ts';
import { pseudonymiserFor } from './pseudonyms.ts';
import { BATCH_SIZE, exportBatches, type Pseudonymiser } from './source.ts';

/**
 * One export as a byte stream, shared by the download route, the export job and the CLI. The
 * stream pulls a batch from the database only when its reader wants more (Readable.from over an
 * async generator), so a slow reader slows the export instead of filling memory.
 */

export interface ExportRun {
  plan: ExportPlan;
  stream: Readable;
  /** Records written so far. */
  rows(): number;
}

export interface RunOptions {
  db: Kysely<DB>;
  vault: KeyVault;
  definition: DefinitionRow;
  principal: Principal;
  /** Called after each batch with the records written so far. */
  onProgress?: (rows: number) => void;
  /** Stop after this many records (a preview). */
  maxRows?: number | undefined;
  /** The database's COPY TO STDOUT, where it has one (PostgreSQL): CSV is then written by COPY. */
  copyOut?: Database['copyOut'];
}

/** Plans the export for the principal (a bad filter or policy refusal throws here, before any byte). */
export async function startExport({
  db,
  vault,
  definition,
  principal,
  onProgress,
  maxRows = Infinity,
  copyOut,
}: RunOptions): Promise<ExportRun> {
  const plan = planExport(definition, principal);
  const pseudonym = definition.pseudonymise
    ? await pseudonymiserFor(db, vault, principal.clientId)
    : undefined;
  let rows = 0;
  const counted = (n: number) => {
    rows += n;
    onProgress?.(rows);
  };
  const stream = Readable.from(chunks(db, plan, { pseudonym, counted, maxRows, copyOut }), {
    objectMode: false,
  });
  return { plan, stream, rows: () => rows };
}

interface ChunkOptions {
  pseudonym: Pseudonymiser | undefined;
  counted: (n: number) => void;
  maxRows: number;
  copyOut: Database['copyOut'];
}

async function* chunks(db: Kysely<DB>, plan: ExportPlan, options: ChunkOptions): AsyncGenerator<Buffer> {
  if (csvBySql(plan, options.pseudonym !== undefined)) {
    yield* options.copyOut
      ? csvByCopy(db, plan, options, options.copyOut)
      : csvFromDatabase(db, plan, options);
    return;
  }
  const writer = FORMATS[plan.format].writer({
    entity: plan.entity,
    definition: plan.definition.name,
    version: plan.definition.version,
    columns: plan.columns,
    memberColumns: plan.memberColumns,
  });
  yield* nonEmpty(writer.start());
  let left = options.maxRows;
  const batchSize = Math.min(BATCH_SIZE, left);
  for await (const whole of exportBatches(db, plan, options.pseudonym, batchSize)) {
    const batch = whole.length > left ? whole.slice(0, left) : whole;
    const chunk = writer.batch(batch);
    options.counted(batch.length);
    left -= batch.length;
    yield* nonEmpty(chunk);
    if (left <= 0) {
      break;
    }
  }
  yield* nonEmpty(writer.end());
}

/**
 * CSV lines written by the database (csv-sql.ts), the header first. The next batch is asked for
 * before the current one is handed on, so the database works while the client reads: two batches
 * at most are held.
 */
async function* csvFromDatabase(
  db: Kysely<DB>,
  plan: ExportPlan,
  options: ChunkOptions,
): AsyncGenerator<Buffer> {
  yield Buffer.from(csvHeader(plan.columns), 'utf8');
  let left = options.maxRows;
  type Batch = { rows: { id: string; line: string }[]; limit: number };
  const ask = (after: string | undefined): Promise<Batch> => {
    const limit = Math.min(SQL_CSV_BATCH, left);
    return csvLinesAfter(db, plan, after, limit).then((rows) => ({ rows, limit }));
  };
  let next: Promise<Batch> | undefined = ask(undefined);
  while (next) {
    const batch: Batch = await next;
    const { rows, limit } = batch;
    left -= rows.length;
    const more: boolean = rows.length === limit && left > 0;
    next = more ? ask(rows.at(-1)!.id) : undefined;
    if (rows.length > 0) {
      options.counted(rows.length);
      yield Buffer.from(`${rows.map((row) => row.line).join('\r\n')}\r\n`, 'utf8');
    }
  }
}

/**
 * CSV by COPY (PostgreSQL), the header first. COPY ends lines with LF; RFC 4180 wants CRLF, so a CR
 * goes before every LF (one inside a quoted cell, a line break in a value, becomes CRLF too). Each
 * LF counts as a record for progress and the audit.
 */
async function* csvByCopy(
  db: Kysely<DB>,
  plan: ExportPlan,
  options: ChunkOptions,
  copyOut: NonNullable<Database['copyOut']>,
): AsyncGenerator<Buffer> {
  yield Buffer.from(csvHeader(plan.columns), 'utf8');
  for await (const chunk of copyOut(csvCopyQuery(db, plan, options.maxRows), 'format csv')) {
    const { bytes, lines } = withCrlf(chunk as Buffer);
    options.counted(lines);
    yield bytes;
  }
}

const LF = 0x0a;
const CR = 0x0d;

function withCrlf(chunk: Buffer): { bytes: Buffer; lines: number } {
  let lines = 0;
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
    lines += 1;
  }
  const bytes = Buffer.allocUnsafe(chunk.length + lines);
  let from = 0;
  let to = 0;
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
    to += chunk.copy(bytes, to, from, at);
    bytes[to++] = CR;
    bytes[to++] = LF;
    from = at + 1;
  }
  chunk.copy(bytes, to, from);
  return { bytes, lines };
}

function* nonEmpty(chunk: Chunk): Generator<Buffer> {
  if (chunk.length > 0) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
  }
}
