import { Value } from '@sinclair/typebox/value';
import type { Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import type { DB } from '#platform/db/types';
import { JobAbortedError, untilAborted, type RunningAttempt, type RunningAttempts } from './attempts.ts';
import {
  KIND_DEFAULTS,
  PermanentJobError,
  type JobContext,
  type JobKind,
  type JobLogger,
  type JobOutcome,
} from './kind.ts';
import { createProgressWriter, type ProgressWriter } from './progress.ts';
import { claimJobRow, endAttempt, type AttemptEnd, type ClaimedJob } from './queries.ts';
import type { StoredOutcome } from './schemas.ts';

export interface RunnerDeps {
  db: Kysely<DB>;
  log: JobLogger;
  running: RunningAttempts;
}

/** pg-boss's view of the attempt it hands over (work option includeMetadata). */
export type Delivery = Pick<PgBoss.JobWithMetadata, 'id' | 'retryCount' | 'retryLimit' | 'expireInSeconds'>;

const MAX_ERROR_LENGTH = 1000;

/**
 * Runs one attempt of a job delivered by pg-boss. Status transitions of the `jobs` row:
 * queued|retrying|running → running (claim: attempts + 1, started_at once) → succeeded, or
 * retrying (failed, will be retried) / failed (no retries left, or a PermanentJobError). A job whose
 * row already finished is not run again. Resolving lets pg-boss complete its job; throwing makes
 * pg-boss fail it, and retry it with backoff when retries are left.
 */
export async function runAttempt(kind: JobKind, delivery: Delivery, deps: RunnerDeps): Promise<void> {
  const claimed = await claimJobRow(deps.db, delivery.id);
  if (!claimed) {
    deps.log.info({ jobId: delivery.id, kind: kind.name }, 'job already finished or gone: not run again');
    return;
  }
  const attempt = claimed.attempts;
  const fields = { jobId: delivery.id, kind: kind.name, attempt, requestId: claimed.request_id ?? undefined };
  if (!Value.Check(kind.payload, claimed.payload)) {
    // Retrying cannot help a payload that no longer fits the kind (after an upgrade).
    await endAttempt(
      deps.db,
      delivery.id,
      attempt,
      { status: 'failed', error: 'the stored payload no longer matches its job kind' },
      undefined,
    );
    deps.log.error(fields, 'job failed: stored payload does not match its kind');
    return;
  }
  const running = deps.running.begin(delivery.id);
  const progress = createProgressWriter(
    deps.db,
    { jobId: delivery.id, attempt },
    () => abort(running, 'taken-over'),
    deps.log,
  );
  const timeLimit = setTimeout(() => abort(running, 'timed-out'), expiryMs(kind, delivery));
  const startedAt = Date.now();
  deps.log.info(fields, 'job started');
  try {
    const outcome = await untilAborted(
      invoke(kind, claimed, context(fields, claimed, running, progress, deps.log)),
      running.controller.signal,
    );
    await settle(deps, fields, progress, { status: 'succeeded', outcome: stored(outcome) }, startedAt);
  } catch (error) {
    const end = failure(error, delivery);
    const recorded = await settle(deps, fields, progress, end, startedAt);
    // pg-boss fails (and retries) its job as the row says. A permanent failure resolves instead, so
    // that pg-boss does not schedule a retry the row has ruled out.
    if (recorded && !(error instanceof PermanentJobError)) {
      // Only the message reaches pg-boss's tables too: no stack, nothing else from the error.
      const rethrown = new Error(end.error);
      rethrown.stack = undefined;
      throw rethrown;
    }
  } finally {
    clearTimeout(timeLimit);
    deps.running.end(running);
  }
}

function context(
  fields: { jobId: string; attempt: number; requestId: string | undefined },
  claimed: ClaimedJob,
  running: RunningAttempt,
  progress: ProgressWriter,
  log: JobLogger,
): JobContext {
  return {
    jobId: fields.jobId,
    attempt: fields.attempt,
    requestId: fields.requestId,
    createdBy: claimed.created_by ?? undefined,
    signal: running.controller.signal,
    progress: (done, total) => progress.report(done, total),
    log: {
      info: (more, message) => log.info({ ...fields, ...more }, message),
      warn: (more, message) => log.warn({ ...fields, ...more }, message),
      error: (more, message) => log.error({ ...fields, ...more }, message),
    },
  };
}

// Through a promise so that a handler throwing synchronously is an ordinary failed attempt.
const invoke = (kind: JobKind, claimed: ClaimedJob, context: JobContext): Promise<JobOutcome> =>
  Promise.resolve().then(() => kind.run(claimed.payload, context));

const abort = (running: RunningAttempt, why: 'taken-over' | 'timed-out') =>
  running.controller.abort(new JobAbortedError(why));

/** pg-boss gives up on an attempt after its expiry; the handler's signal is aborted then too. */
const expiryMs = (kind: JobKind, delivery: Delivery) =>
  Math.max(1, Number(delivery.expireInSeconds) || (kind.expireInSeconds ?? KIND_DEFAULTS.expireInSeconds)) *
  1000;

function stored(outcome: JobOutcome): StoredOutcome {
  return outcome.status === 'done'
    ? { outcome: 'done', value: outcome.result ?? null }
    : { outcome: 'skipped', reason: outcome.reason };
}

function failure(error: unknown, delivery: Delivery): AttemptEnd & { status: 'retrying' | 'failed' } {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);
  // pg-boss retries while retryCount < retryLimit (its failJobs plan); the row tells the same story.
  const willRetry = !(error instanceof PermanentJobError) && delivery.retryCount < delivery.retryLimit;
  return { status: willRetry ? 'retrying' : 'failed', error: message || 'the job failed' };
}

/** Writes the end of the attempt; false when the row was no longer this attempt's (cancelled, taken over). */
async function settle(
  deps: RunnerDeps,
  fields: { jobId: string; kind: string; attempt: number; requestId: string | undefined },
  progress: ProgressWriter,
  end: AttemptEnd,
  startedAt: number,
): Promise<boolean> {
  await progress.close();
  const recorded = await endAttempt(deps.db, fields.jobId, fields.attempt, end, progress.latest());
  const logged = { ...fields, ms: Date.now() - startedAt };
  if (!recorded) {
    deps.log.info(logged, 'job attempt ended after it was cancelled or taken over');
  } else if (end.status === 'succeeded') {
    deps.log.info({ ...logged, outcome: end.outcome.outcome }, 'job succeeded');
  } else if (end.status === 'retrying') {
    deps.log.warn({ ...logged, error: end.error }, 'job attempt failed, will retry');
  } else {
    deps.log.error({ ...logged, error: end.error }, 'job failed');
  }
  return recorded;
}
