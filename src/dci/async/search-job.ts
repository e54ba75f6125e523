import type { JobKind } from '#platform/jobs/queue';
import { headerReason } from '../envelope.ts';
import { answerSearch, ASYNC_SEARCH, parseSearch } from '../search.ts';
import type { Registry } from '../spec.ts';
import { defineExchangeJob, type ExchangePayload } from './job.ts';
import type { ResolvedJobOptions } from './options.ts';

export const SEARCH_JOB = 'dci.search';

/** `dci.search`: runs an accepted async search (the same core as the sync one), then POSTs on-search. */
export function searchJob(options: ResolvedJobOptions): JobKind<typeof ExchangePayload> {
  const { db, receiver, limits, maxBatch } = options;
  return defineExchangeJob(
    {
      name: SEARCH_JOB,
      audit: 'search.answered',
      callbackAction: 'on-search',
      async answer(exchange, principal) {
        const registry = exchange.registry as Registry;
        const parsed = parseSearch(exchange.request, { registry, path: ASYNC_SEARCH }, receiver);
        const result = await answerSearch(parsed, {
          db,
          registry,
          principal,
          limits,
          maxBatch,
          receiver,
          correlationId: exchange.correlation_id,
        });
        const { header } = result.envelope;
        return {
          envelope: result.envelope,
          rejected: result.rejected,
          recordCount: result.recordCount,
          subjectIds: result.subjectIds,
          purpose: result.purpose,
          reason: headerReason(header),
        };
      },
    },
    options.retry,
    options,
  );
}
