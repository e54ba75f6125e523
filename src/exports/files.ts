import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely, Selectable } from 'kysely';
import type { DB, ExportFileTable } from '#platform/db/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';

/**
 * The files of export jobs: written under `<data dir>/exports/`, downloadable until they expire,
 * then deleted by a periodic purge (the row stays, marked deleted, for the record).
 */

export type ExportFileRow = Selectable<ExportFileTable>;

export const exportsDir = (dataDir: string) => join(dataDir, 'exports');

export const findExportFile = (db: Kysely<DB>, jobId: string): Promise<ExportFileRow | undefined> =>
  db.selectFrom('export_files').selectAll().where('job_id', '=', jobId).executeTakeFirst();

/** A file that is written and not yet deleted. */
export const isReady = (file: ExportFileRow): boolean =>
  file.completed_at !== null && file.deleted_at === null;

/** The newest files written from a definition (any version), of one client or of all. */
export const filesOfDefinition = (db: Kysely<DB>, name: string, clientId: string | undefined) =>
  db
    .selectFrom('export_files as f')
    .innerJoin('export_definitions as d', 'd.id', 'f.definition_id')
    .selectAll('f')
    .select('d.version')
    .where('d.name', '=', name)
    .$if(clientId !== undefined, (q) => q.where('f.client_id', '=', clientId!))
    .orderBy('f.created_at', 'desc')
    .limit(100)
    .execute();

/** Deletes the files expired before `now`; answers how many. */
export async function purgeExpiredFiles(db: Kysely<DB>, dataDir: string, now = new Date()): Promise<number> {
  const expired = await db
    .selectFrom('export_files')
    .select(['job_id', 'file_name'])
    .where('deleted_at', 'is', null)
    .where('expires_at', '<=', now)
    .execute();
  for (const file of expired) {
    await rm(join(exportsDir(dataDir), file.file_name), { force: true });
    await rm(join(exportsDir(dataDir), `${file.file_name}.part`), { force: true });
    await db.updateTable('export_files').set({ deleted_at: now }).where('job_id', '=', file.job_id).execute();
  }
  return expired.length;
}

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export const purgeFilesPeriodically = (
  db: Kysely<DB>,
  dataDir: string,
  onError: (error: unknown) => void,
): Periodic => runPeriodically(PURGE_INTERVAL_MS, () => purgeExpiredFiles(db, dataDir), onError);
