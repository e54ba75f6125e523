import type { TSchema } from '@sinclair/typebox';
import type { JobKind } from '#platform/jobs/queue';
import { resolveJobOptions, type DciJobOptions } from './async/options.ts';
import { searchJob } from './async/search-job.ts';
import { txnStatusJob } from './async/txn-status-job.ts';

export type { DciJobOptions } from './async/options.ts';

/** The job kinds of the async DCI endpoints, to define on the gateway's queue before it starts. */
export function dciJobKinds(options: DciJobOptions): JobKind<TSchema>[] {
  const resolved = resolveJobOptions(options);
  return [searchJob(resolved), txnStatusJob(resolved)];
}
