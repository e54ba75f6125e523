import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { JobLogger } from './kind.ts';
import { writeProgress, type Progress } from './queries.ts';

/** At most one progress write per job every this many milliseconds. */
export const PROGRESS_INTERVAL_MS = 250;

export interface ProgressWriter {
  report(done: number, total?: number): Promise<void>;
  /** The last values reported, for the write that ends the attempt. */
  latest(): Progress | undefined;
  /** Stops the trailing timer and waits for writes in flight. */
  close(): Promise<void>;
}

/**
 * Throttled progress writes for one attempt: a report is written at once when the last write is
 * older than the interval or when done reaches total; otherwise a trailing write follows so that
 * the resource never lags by more than the interval. Writes are chained, never concurrent.
 * `onLost` is called when the row is no longer this attempt's (cancelled elsewhere, taken over).
 */
export function createProgressWriter(
  db: Kysely<DB>,
  ids: { jobId: string; attempt: number },
  onLost: () => void,
  log: JobLogger,
): ProgressWriter {
  let latest: Progress | undefined;
  let lastWriteAt = 0;
  let trailing: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const write = (): Promise<void> => {
    clearTimeout(trailing);
    trailing = undefined;
    lastWriteAt = Date.now();
    const values = latest!;
    chain = chain.then(async () => {
      try {
        if (!(await writeProgress(db, ids.jobId, ids.attempt, values))) {
          onLost();
        }
      } catch (error) {
        // Progress is informative: a failed write must not fail the job.
        log.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'job progress not recorded',
        );
      }
    });
    return chain;
  };

  return {
    report(done, total) {
      if (!isCount(done) || (total !== undefined && !isCount(total))) {
        log.warn({ done, total }, 'job progress ignored: counts must be whole numbers >= 0');
        return chain;
      }
      latest = { done, total: total ?? latest?.total };
      const reachedTotal = latest.total !== undefined && done >= latest.total;
      if (reachedTotal || Date.now() - lastWriteAt >= PROGRESS_INTERVAL_MS) {
        return write();
      }
      trailing ??= setTimeout(() => void write(), lastWriteAt + PROGRESS_INTERVAL_MS - Date.now());
      return chain;
    },
    latest: () => latest,
    async close() {
      clearTimeout(trailing);
      trailing = undefined;
      await chain;
    },
  };
}

const isCount = (value: number) => Number.isSafeInteger(value) && value >= 0;
