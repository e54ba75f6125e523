import type { JobKind } from '#platform/jobs/queue';
import type { Registry } from '../spec.ts';
import { answerTxnStatus, parseTxnStatus, TXN_STATUS } from '../txn-status.ts';
import { defineExchangeJob, type ExchangePayload } from './job.ts';
import type { ResolvedJobOptions } from './options.ts';

export const TXN_STATUS_JOB = 'dci.txn-status';

/** `dci.txn-status`: answers an accepted async txn status request, then POSTs txn-on-status. */
export function txnStatusJob(options: ResolvedJobOptions): JobKind<typeof ExchangePayload> {
  const { db, receiver } = options;
  return defineExchangeJob(
    {
      name: TXN_STATUS_JOB,
      audit: 'txn_status.answered',
      callbackAction: 'txn-on-status',
      async answer(exchange) {
        const registry = exchange.registry as Registry;
        const parsed = parseTxnStatus(exchange.request, { registry, path: TXN_STATUS }, receiver);
        const result = await answerTxnStatus(parsed, {
          db,
          registry,
          clientId: exchange.client_id,
          receiver,
          correlationId: exchange.correlation_id,
        });
        // Answered, even when nothing was found: the header of the answer says so.
        return { envelope: result.envelope, rejected: false, recordCount: result.recordCount };
      },
    },
    options.retry,
    options,
  );
}
