import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';
import type { JobQueue } from '#platform/jobs/queue';
import { CENTRAL_PULL_JOB } from './pull.ts';

/**
 * When ODK Central sources are pulled: on demand (a route) or when their interval has passed (the
 * periodic work the app runs). A pull is a job, one at a time per source.
 */

/** Enqueues a pull of the source (one at a time per source) and remembers its job. */
export async function enqueuePull(
  db: Kysely<DB>,
  jobs: JobQueue,
  sourceId: string,
  requestId?: string,
  createdBy?: string,
) {
  const jobId = await jobs.enqueue(
    CENTRAL_PULL_JOB,
    { source_id: sourceId },
    { singletonKey: sourceId, requestId, createdBy },
  );
  await db
    .updateTable('odk_central_sources')
    .set({ last_job_id: jobId })
    .where('id', '=', sourceId)
    .execute();
  return jobId;
}

/** Enqueues a pull of each source whose interval has passed, claiming it so that one gateway does. */
export async function enqueueDuePulls(db: Kysely<DB>, jobs: JobQueue): Promise<string[]> {
  const due = await db
    .updateTable('odk_central_sources')
    .set({ next_pull_at: sql`now() + interval_minutes * interval '1 minute'` })
    .where('enabled', '=', true)
    .where('interval_minutes', 'is not', null)
    .where((eb) => eb.or([eb('next_pull_at', 'is', null), eb('next_pull_at', '<=', sql<Date>`now()`)]))
    .returning('id')
    .execute();
  const enqueued = [];
  for (const { id } of due) {
    enqueued.push(await enqueuePull(db, jobs, id));
  }
  return enqueued;
}

/** Every 30 s, pulls the sources that are due. */
export const pullCentralPeriodically = (
  db: Kysely<DB>,
  jobs: JobQueue,
  onError: (error: unknown) => void,
): Periodic => runPeriodically(30_000, () => enqueueDuePulls(db, jobs), onError);
