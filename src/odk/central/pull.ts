import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { DB } from '#platform/db/types';
import { ProblemError } from '#platform/problem';
import { defineJobKind, PermanentJobError, type JobContext } from '#platform/jobs/kind';
import { processSubmission, storeSubmission } from '../submissions.ts';
import { CentralError, connectCentral, type CentralCalls } from './client.ts';

/**
 * Pulling a form's submissions from ODK Central into the same pipeline as ODK Collect's: each new
 * submission's XML and attachments are stored raw, then read into a change request. Incremental:
 * Central is asked only for submissions from the cursor (the newest submission date imported) on,
 * and the cursor moves after each one, so a pull cut short resumes where it stopped; instanceIDs make
 * the one at the cursor, listed again, harmless. A submission of a form version SP Exchange does not
 * have stops the pull before it (nothing is skipped): upload that version, and the next pull goes on.
 */

export const CENTRAL_PULL_JOB = 'odk.central.pull';
const PAGE = 100;

export const sealContextOf = (sourceId: string) => `odk_central_sources/${sourceId}`;

export interface PullCounts {
  /** Submissions Central listed. */
  listed: number;
  /** Stored and read into change requests by this pull. */
  imported: number;
  /** Already received (by an earlier pull, or from ODK Collect). */
  already: number;
  /** Kept raw but could not be read (see the submissions API). */
  failed: number;
}

type Progress = Pick<JobContext, 'signal' | 'progress'>;

async function record(
  db: Kysely<DB>,
  id: string,
  values: { status: string; error?: string | null; counts?: PullCounts },
) {
  await db
    .updateTable('odk_central_sources')
    .set({
      last_pull_status: values.status,
      last_pull_error: values.error ?? null,
      ...(values.counts ? { last_pull_counts: JSON.stringify(values.counts) } : {}),
      ...(values.status === 'running' ? {} : { last_pull_at: new Date() }),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * What the status may say of a failure: our own words (CentralError: a status, a network error code,
 * a missing form version), never another error's message (the job runner logs it).
 */
const statusOf = (error: unknown) =>
  error instanceof CentralError ? error.message : 'the pull failed on the gateway (its log has the error)';

/** One pull of a source; answers what it did. Throws (after recording the error) when it could not finish. */
export async function pullCentral(
  db: Kysely<DB>,
  vault: KeyVault,
  calls: CentralCalls,
  sourceId: string,
  context: Progress,
): Promise<PullCounts> {
  const source = await db
    .selectFrom('odk_central_sources')
    .selectAll()
    .where('id', '=', sourceId)
    .executeTakeFirst();
  if (!source) {
    throw new PermanentJobError('the ODK Central source was removed');
  }
  const counts: PullCounts = { listed: 0, imported: 0, already: 0, failed: 0 };
  await record(db, source.id, { status: 'running' });
  try {
    const secret = new TextDecoder().decode(await vault.open(source.secret_sealed, sealContextOf(source.id)));
    const central = await connectCentral(source, secret, context.signal, calls);
    let cursor = source.cursor_at;
    let total: number | undefined;
    for (;;) {
      const pageFrom = cursor;
      const page = await central.submissionsSince(cursor, PAGE);
      total ??= page.count;
      for (const item of page.items) {
        counts.listed += 1;
        await importOne(db, central, source, item.instanceId, counts);
        const at = new Date(item.submittedAt);
        if (!cursor || at > cursor) {
          cursor = at;
          await db
            .updateTable('odk_central_sources')
            .set({ cursor_at: at })
            .where('id', '=', source.id)
            .execute();
        }
        await context.progress(counts.listed, Math.max(total, counts.listed));
      }
      // A short page is the last; a full page whose dates never moved past the cursor would repeat.
      const last = page.items.at(-1);
      if (page.items.length < PAGE || !last || (pageFrom && new Date(last.submittedAt) <= pageFrom)) {
        break;
      }
    }
    await record(db, source.id, { status: 'ok', counts });
    return counts;
  } catch (error) {
    await record(db, source.id, { status: 'error', error: statusOf(error), counts });
    // Retrying cannot mend refused credentials or a missing form version: the job ends failed.
    throw error instanceof CentralError && !error.retryable ? new PermanentJobError(error.message) : error;
  }
}

async function importOne(
  db: Kysely<DB>,
  central: Awaited<ReturnType<typeof connectCentral>>,
  source: { name: string },
  instanceId: string,
  counts: PullCounts,
) {
  const known = await db
    .selectFrom('odk_submissions')
    .select('id')
    .where('instance_id', '=', instanceId)
    .executeTakeFirst();
  if (known) {
    counts.already += 1;
    return;
  }
  try {
    const received = await storeSubmission(db, {
      xml: await central.submissionXml(instanceId),
      attachments: await central.attachments(instanceId),
      source: 'central',
      submittedBy: `central:${source.name}`,
    });
    await processSubmission(db, received.id, undefined);
    counts.imported += 1;
  } catch (error) {
    if (error instanceof ProblemError && error.status === 404) {
      throw new CentralError(
        `submission ${instanceId}: ${error.message}; upload that form version, then pull again`,
      );
    }
    if (!(error instanceof ProblemError)) {
      throw error;
    }
    counts.failed += 1;
  }
}

export const centralPullJob = (db: Kysely<DB>, vault: KeyVault, calls: CentralCalls) =>
  defineJobKind({
    name: CENTRAL_PULL_JOB,
    payload: Type.Object({ source_id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) }),
    retryLimit: 2,
    retryDelaySeconds: 30,
    expireInSeconds: 3600,
    async run(payload, context) {
      const counts = await pullCentral(db, vault, calls, payload.source_id, context);
      return { status: 'done', result: counts };
    },
  });
