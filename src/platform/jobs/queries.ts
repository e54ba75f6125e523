import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { JobRow, JobStatus, StoredOutcome } from './schemas.ts';

/**
 * One small query per need on the `jobs` table, the user-facing truth about a job (pg-boss only
 * schedules attempts). Every write made by an attempt is guarded by `attempts = <its number>` and
 * `status = 'running'`: a late write from an attempt that was cancelled, timed out or superseded by
 * a newer attempt changes nothing.
 */

const UNFINISHED: JobStatus[] = ['queued', 'running', 'retrying'];

/** Whose jobs the caller may see: an API client only its own, an admin (no createdBy) all. */
export interface JobScope {
  createdBy?: string | undefined;
}

export interface NewJobRow {
  id: string;
  kind: string;
  payload: unknown;
  requestId: string | undefined;
  createdBy: string | undefined;
}

export async function insertJobRow(db: Kysely<DB>, job: NewJobRow): Promise<void> {
  await db
    .insertInto('jobs')
    .values({
      id: job.id,
      kind: job.kind,
      status: 'queued',
      // Serialised here: `pg` would turn a top-level array into a PostgreSQL array, not JSON.
      payload: JSON.stringify(job.payload),
      request_id: job.requestId ?? null,
      created_by: job.createdBy ?? null,
    })
    .execute();
}

export async function findJobRow(db: Kysely<DB>, id: string, scope: JobScope): Promise<JobRow | undefined> {
  let query = db.selectFrom('jobs').selectAll().where('id', '=', id);
  if (scope.createdBy) {
    query = query.where('created_by', '=', scope.createdBy);
  }
  return query.executeTakeFirst();
}

export interface JobFilters extends JobScope {
  kind?: string | undefined;
  status?: JobStatus | undefined;
  limit: number;
}

export async function listJobRows(db: Kysely<DB>, filters: JobFilters): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll();
  if (filters.kind) {
    query = query.where('kind', '=', filters.kind);
  }
  if (filters.status) {
    query = query.where('status', '=', filters.status);
  }
  if (filters.createdBy) {
    query = query.where('created_by', '=', filters.createdBy);
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filters.limit).execute();
}

export type ClaimedJob = Pick<JobRow, 'attempts' | 'payload' | 'request_id' | 'created_by'>;

/**
 * Marks the job running for a new attempt, unless it already finished (a succeeded or cancelled job
 * delivered again after a crash is not run twice). A 'running' row is claimable: its worker died.
 * The new `attempts` value is the attempt's token for its later writes.
 */
export async function claimJobRow(db: Kysely<DB>, id: string): Promise<ClaimedJob | undefined> {
  return db
    .updateTable('jobs')
    .set({
      status: 'running',
      attempts: sql<number>`attempts + 1`,
      started_at: sql<Date>`coalesce(started_at, now())`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('status', 'in', UNFINISHED)
    .returning(['attempts', 'payload', 'request_id', 'created_by'])
    .executeTakeFirst();
}

export interface Progress {
  done: number;
  total: number | undefined;
}

/** Writes progress; false when the row is no longer this attempt's (cancelled or superseded). */
export async function writeProgress(
  db: Kysely<DB>,
  id: string,
  attempt: number,
  progress: Progress,
): Promise<boolean> {
  const row = await db
    .updateTable('jobs')
    .set({
      progress_done: progress.done,
      progress_total: progress.total ?? sql<number | null>`progress_total`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('status', '=', 'running')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export type AttemptEnd =
  { status: 'succeeded'; outcome: StoredOutcome } | { status: 'retrying' | 'failed'; error: string };

/** Records how an attempt ended (with its last progress); false when the row was not its any more. */
export async function endAttempt(
  db: Kysely<DB>,
  id: string,
  attempt: number,
  end: AttemptEnd,
  progress: Progress | undefined,
): Promise<boolean> {
  const row = await db
    .updateTable('jobs')
    .set({
      status: end.status,
      ...(end.status === 'succeeded'
        ? { result: JSON.stringify(end.outcome), error: null }
        : { error: end.error }),
      ...(end.status === 'retrying' ? {} : { finished_at: sql<Date>`now()` }),
      ...(progress
        ? {
            progress_done: progress.done,
            progress_total: progress.total ?? sql<number | null>`progress_total`,
          }
        : {}),
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('status', '=', 'running')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Cancels an unfinished job; undefined when there is no such job or it already finished. */
export async function cancelJobRow(db: Kysely<DB>, id: string, scope: JobScope): Promise<JobRow | undefined> {
  let query = db
    .updateTable('jobs')
    .set({ status: 'cancelled', finished_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', 'in', UNFINISHED);
  if (scope.createdBy) {
    query = query.where('created_by', '=', scope.createdBy);
  }
  return query.returningAll().executeTakeFirst();
}
