import { Cron } from 'croner';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, ExportDefinitionTable } from '#platform/db/types';
import type { JobQueue } from '#platform/jobs/queue';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';
import { USABLE } from './definitions.ts';
import { EXPORT_JOB, type ExportJobPayload } from './job.ts';

/**
 * Scheduled exports: a definition whose current version has a schedule (a cron expression, UTC) is
 * exported by a job each time it falls due, for the client that saved that version, with the
 * purpose and legal basis it states. Each run due is recorded once (`export_schedule_runs`), so
 * that several gateways, or a restart, never run it twice; runs missed while no gateway ran are
 * made up by one run, the latest. A run claimed by a gateway that stopped before queueing its job
 * is queued by the next check after a minute.
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
    // The current version: the highest in use (not one waiting for approval).
    .where(({ eb, selectFrom }) =>
      eb(
        'd.version',
        '=',
        selectFrom('export_definitions as v')
          .select((v) => v.fn.max('v.version').as('max'))
          .whereRef('v.name', '=', 'd.name')
          .where('v.approval', 'in', USABLE),
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
    if (claimed) {
      enqueued.push(await enqueueRun(db, jobs, fileHours, definition, due));
    }
  }
  // A run claimed by a gateway that stopped before queueing its job.
  const orphans = await db
    .selectFrom('export_schedule_runs as r')
    .innerJoin('export_definitions as d', (join) =>
      join.onRef('d.name', '=', 'r.name').onRef('d.version', '=', 'r.version'),
    )
    .selectAll('d')
    .select('r.due_at')
    .where('r.job_id', 'is', null)
    // The database's clock: `now` may be a schedule time given by a test.
    .where('r.created_at', '<', sql<Date>`now() - ${`${ORPHAN_AFTER_SECONDS} seconds`}::interval`)
    .where('d.archived_at', 'is', null)
    .execute();
  for (const orphan of orphans) {
    enqueued.push(await enqueueRun(db, jobs, fileHours, orphan, orphan.due_at));
  }
  return enqueued;
}

/** Claimed runs without a job after this long were left by a gateway that stopped. */
const ORPHAN_AFTER_SECONDS = 60;

/** Queues a claimed run's job (once per run, whoever queues it: pg-boss singleton key). */
async function enqueueRun(
  db: Kysely<DB>,
  jobs: JobQueue,
  fileHours: number,
  definition: Selectable<ExportDefinitionTable>,
  due: Date,
): Promise<string> {
  const payload: ExportJobPayload = {
    definition_id: definition.id,
    format: definition.format,
    client_id: definition.created_by!,
    credential: null,
    purpose: definition.schedule_purpose!,
    legal_basis: definition.schedule_legal_basis!,
    expires_hours: fileHours,
  };
  const jobId = await jobs.enqueue(EXPORT_JOB, payload, {
    createdBy: definition.created_by!,
    singletonKey: `${definition.name}@${due.toISOString()}`,
  });
  await db
    .updateTable('export_schedule_runs')
    .set({ job_id: jobId })
    .where('name', '=', definition.name)
    .where('due_at', '=', due)
    .execute();
  return jobId;
}

export const runSchedulesPeriodically = (
  db: Kysely<DB>,
  jobs: JobQueue,
  fileHours: number,
  onError: (error: unknown) => void,
): Periodic => runPeriodically(CHECK_INTERVAL_MS, () => enqueueDueExports(db, jobs, fileHours), onError);
