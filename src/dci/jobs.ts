import type { TSchema } from '@sinclair/typebox';
import type { JobKind } from '#platform/jobs/queue';
import { resolveJobOptions, type DciJobOptions } from './async/options.ts';
import { SEARCH_JOB, searchJob } from './async/search-job.ts';
import { TXN_STATUS_JOB, txnStatusJob } from './async/txn-status-job.ts';
import { NOTIFY_JOB, notifyJob } from './async/notify-job.ts';
import { SUBSCRIBE_JOB, subscribeJob } from './async/subscribe-job.ts';
import { UNSUBSCRIBE_JOB, unsubscribeJob } from './async/unsubscribe-job.ts';
import type { ReplayJobs } from './exchange/replay.ts';

export type { DciJobOptions } from './async/options.ts';

/** The job that answers and delivers each kind of async exchange, to replay a dead delivery. */
export const REPLAY_JOBS: ReplayJobs = {
  search: SEARCH_JOB,
  'txn-status': TXN_STATUS_JOB,
  subscribe: SUBSCRIBE_JOB,
  unsubscribe: UNSUBSCRIBE_JOB,
  notify: NOTIFY_JOB,
};

/** The job kinds of the async DCI endpoints, to define on the gateway's queue before it starts. */
export function dciJobKinds(options: DciJobOptions): JobKind<TSchema>[] {
  const resolved = resolveJobOptions(options);
  return [
    searchJob(resolved),
    txnStatusJob(resolved),
    subscribeJob(resolved),
    unsubscribeJob(resolved),
    notifyJob(resolved),
  ];
}
