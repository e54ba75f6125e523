import { Cron } from 'croner';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { JobQueue } from '#platform/jobs/queue';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';
import { EXPORT_JOB, type ExportJobPayload } from './job.ts';

/**
 * Scheduled exports: a definition whose current version has a schedule (a cron expression, UTC) is
 * exported by a job each time it falls due, for the client that saved that version, with the
 * purpose and legal basis it states. Each run due is recorded once (`export_schedule_runs`), so
 * that several gateways, or a restart, never run it twice; runs missed while no gateway ran are
 * made up by one run, the latest.
 */

const CHECK_INTERVAL_MS = 30_000;

/** Enqueues the exports due at `now`; answers the ids of the jobs enqueued. */
export async function enqueueDueExports(
  db: Kysely<DB>,
  jobs: JobQueue,
  fileHours: number,
  now = new Date(),
): Promise<string[]> {
  const scheduled = await db
    .selectFrom('export_definitions as d')
    .selectAll('d')
    .select((eb) =>
      eb
        .selectFrom('export_schedule_runs as r')
        .select(sql<Date>`max(r.due_at)`.as('last'))
        .whereRef('r.name', '=', 'd.name')
        .as('last_due'),
    )
    .where('d.archived_at', 'is', null)
    .where('d.schedule', 'is not', null)
    .where('d.created_by', 'is not', null)
    .where(({ eb, selectFrom }) =>
      eb(
        'd.version',
        '=',
        selectFrom('export_definitions as v')
          .select((v) => v.fn.max('v.version').as('max'))
          .whereRef('v.name', '=', 'd.name'),
      ),
    )
    .execute();
  const enqueued: string[] = [];
  for (const definition of scheduled) {
    const due = new Cron(definition.schedule!, { paused: true, timezone: 'UTC' }).previousRuns(1, now)[0];
    const since = definition.last_due ?? definition.created_at;
    if (!due || due.getTime() <= new Date(since).getTime()) {
      continue;
    }
    const claimed = await db
      .insertInto('export_schedule_runs')
      .values({ name: definition.name, due_at: due, version: definition.version })
      .onConflict((oc) => oc.columns(['name', 'due_at']).doNothing())
      .returning('name')
      .executeTakeFirst();
    if (!claimed) {
      continue;
    }
    const payload: ExportJobPayload = {
      definition_id: definition.id,
      format: definition.format,
      client_id: definition.created_by!,
      credential: null,
      purpose: definition.schedule_purpose!,
      legal_basis: definition.schedule_legal_basis!,
      expires_hours: fileHours,
    };
    const jobId = await jobs.enqueue(EXPORT_JOB, payload, { createdBy: definition.created_by! });
    await db
      .updateTable('export_schedule_runs')
      .set({ job_id: jobId })
      .where('name', '=', definition.name)
      .where('due_at', '=', due)
      .execute();
    enqueued.push(jobId);
  }
  return enqueued;
}

export const runSchedulesPeriodically = (
  db: Kysely<DB>,
  jobs: JobQueue,
  fileHours: number,
  onError: (error: unknown) => void,
): Periodic => runPeriodically(CHECK_INTERVAL_MS, () => enqueueDueExports(db, jobs, fileHours), onError);
