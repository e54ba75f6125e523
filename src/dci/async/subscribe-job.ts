import type { JobKind } from '#platform/jobs/queue';
import { headerReason } from '../envelope.ts';
import { callbackTarget, findCallbackSettings, type CallbackSettings } from '../callback/policy.ts';
import { DciError } from '../errors.ts';
import type { Registry } from '../spec.ts';
import { answerSubscribe, NOTIFY, parseSubscribe, SUBSCRIBE } from '../subscriptions/subscribe.ts';
import { defineExchangeJob, type ExchangePayload } from './job.ts';
import type { ResolvedJobOptions } from './options.ts';

export const SUBSCRIBE_JOB = 'dci.subscribe';

/** `dci.subscribe`: records the subscriptions of an accepted subscribe message, then POSTs on-subscribe. */
export function subscribeJob(options: ResolvedJobOptions): JobKind<typeof ExchangePayload> {
  const { db, receiver, maxBatch } = options;
  return defineExchangeJob(
    {
      name: SUBSCRIBE_JOB,
      audit: 'subscribe.answered',
      callbackAction: 'on-subscribe',
      async answer(exchange, principal) {
        const registry = exchange.registry as Registry;
        const parsed = parseSubscribe(exchange.request, { registry, path: SUBSCRIBE }, receiver);
        const result = await answerSubscribe(parsed, {
          db,
          registry,
          principal,
          receiver,
          maxBatch,
          exchange: { id: exchange.id, correlationId: exchange.correlation_id },
          notifyUri: notifyUri(await findCallbackSettings(db, exchange.client_id)),
        });
        const { header } = result.envelope;
        return {
          envelope: result.envelope,
          rejected: result.rejected,
          recordCount: 0,
          reason: headerReason(header),
        };
      },
    },
    options.retry,
    options,
  );
}

/** Where the client's notifications go now, if it registered a callback URI inside its origins. */
function notifyUri(settings: CallbackSettings): string | undefined {
  try {
    return callbackTarget(settings, undefined, NOTIFY).href;
  } catch (error) {
    if (error instanceof DciError) {
      return undefined;
    }
    throw error;
  }
}
