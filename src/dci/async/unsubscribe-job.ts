import type { JobKind } from '#platform/jobs/queue';
import { headerReason } from '../envelope.ts';
import type { Registry } from '../spec.ts';
import { answerUnsubscribe, parseUnsubscribe, UNSUBSCRIBE } from '../subscriptions/unsubscribe.ts';
import { defineExchangeJob, type ExchangePayload } from './job.ts';
import type { ResolvedJobOptions } from './options.ts';

export const UNSUBSCRIBE_JOB = 'dci.unsubscribe';

/** `dci.unsubscribe`: ends the client's subscriptions named by an accepted message, then POSTs on-unsubscribe. */
export function unsubscribeJob(options: ResolvedJobOptions): JobKind<typeof ExchangePayload> {
  const { db, receiver } = options;
  return defineExchangeJob(
    {
      name: UNSUBSCRIBE_JOB,
      audit: 'unsubscribe.answered',
      callbackAction: 'on-unsubscribe',
      async answer(exchange) {
        const registry = exchange.registry as Registry;
        const parsed = parseUnsubscribe(exchange.request, { registry, path: UNSUBSCRIBE }, receiver);
        const result = await answerUnsubscribe(parsed, {
          db,
          registry,
          clientId: exchange.client_id,
          receiver,
          exchange: { id: exchange.id, correlationId: exchange.correlation_id },
        });
        const message = result.envelope.message as {
          status_reason_code?: string;
          status_reason_message?: string;
        };
        const { header } = result.envelope;
        const reason =
          headerReason(header) ??
          (message.status_reason_message
            ? { message: `${message.status_reason_code}: ${message.status_reason_message}` }
            : undefined);
        return { envelope: result.envelope, rejected: result.rejected, recordCount: 0, reason };
      },
    },
    options.retry,
    options,
  );
}
