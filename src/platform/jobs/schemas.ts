import { Type, type Static } from '@sinclair/typebox';
import type { Selectable } from 'kysely';
import type { JobTable } from '#platform/db/types';

export const JOB_STATUSES = ['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses after which nothing changes any more. */
export const FINISHED_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });

/** A long operation as a resource: the body of GET /api/v1/jobs/{id}. */
export const JobResource = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: Type.String({ description: 'The job kind, e.g. dci.search' }),
    status: Type.Union(
      JOB_STATUSES.map((status) => Type.Literal(status)),
      {
        description:
          'queued → running → succeeded | failed | cancelled; a failed attempt that will be retried leaves it retrying',
      },
    ),
    progress: Type.Object({
      done: Type.Integer({ minimum: 0 }),
      total: Nullable(Type.Integer({ minimum: 0 })),
      percent: Nullable(
        Type.Integer({ minimum: 0, maximum: 100, description: 'null while the total is unknown' }),
      ),
    }),
    attempts: Type.Integer({ minimum: 0, description: 'Attempts started so far (retries included)' }),
    result: Type.Unknown({ description: 'What the job produced, once succeeded; null otherwise' }),
    skip_reason: Nullable(
      Type.String({
        description: 'Set when the job succeeded without doing anything, and why (e.g. nothing new)',
      }),
    ),
    error: Nullable(Type.String({ description: 'The last failed attempt: its message only' })),
    created_at: Timestamp,
    started_at: Nullable(Timestamp),
    finished_at: Nullable(Timestamp),
    updated_at: Timestamp,
  },
  { $id: 'JobResource', description: 'A long operation and where it stands' },
);
export type JobResource = Static<typeof JobResource>;

export type JobRow = Selectable<JobTable>;

/**
 * How a finished run is kept in `jobs.result` (jsonb): the outcome travels with the value so that a
 * skipped job is not mistaken for one whose result happens to be null.
 */
export type StoredOutcome = { outcome: 'done'; value: unknown } | { outcome: 'skipped'; reason: string };

const iso = (value: Date | null): string | null => value?.toISOString() ?? null;

/** The resource for one `jobs` row. */
export function toJobResource(row: JobRow): JobResource {
  const stored = row.result as StoredOutcome | null;
  const total = row.progress_total;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status as JobStatus,
    progress: {
      done: row.progress_done,
      total,
      percent:
        total === null
          ? null
          : total === 0
            ? 100
            : Math.min(100, Math.floor((row.progress_done * 100) / total)),
    },
    attempts: row.attempts,
    result: stored?.outcome === 'done' ? (stored.value ?? null) : null,
    skip_reason: stored?.outcome === 'skipped' ? stored.reason : null,
    error: row.error,
    created_at: row.created_at.toISOString(),
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    updated_at: row.updated_at.toISOString(),
  };
}
