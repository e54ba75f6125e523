import { Type } from '@sinclair/typebox';
import { recordAudit } from '#platform/audit/audit-log';
import { defineJobKind, type JobKind, type JobOutcome } from '#platform/jobs/queue';
import { deliver } from '../callback/deliver.ts';
import { cancelDelivery, FINAL_DELIVERY_STATUSES } from '../exchange/deliveries.ts';
import { NOTIFY_JOB } from '../subscriptions/dispatch.ts';
import { findNotification, notifiedRecord, notifyEnvelope } from '../subscriptions/notify.ts';
import type { ResolvedJobOptions } from './options.ts';

export { NOTIFY_JOB } from '../subscriptions/dispatch.ts';

export const NotifyPayload = Type.Object(
  { deliveryId: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
  { additionalProperties: false },
);

/**
 * `dci.notify`: sends one notification (a delivery the dispatcher created for a subscription and a
 * registry event) to the subscriber's `/registry/notify`, with the retries, dead-letter state and
 * attempt log of every callback (callback/deliver.ts). Only the delivery id is in the payload.
 */
export function notifyJob(options: ResolvedJobOptions): JobKind<typeof NotifyPayload> {
  const { db, receiver, retry } = options;
  return defineJobKind({
    name: NOTIFY_JOB,
    payload: NotifyPayload,
    ...retry,
    retryBackoff: true,
    concurrency: 4,
    async run({ deliveryId }, ctx): Promise<JobOutcome> {
      const notification = await findNotification(db, deliveryId);
      if (!notification) {
        return { status: 'skipped', reason: 'the notification no longer exists' };
      }
      const { delivery, subscription } = notification;
      if ((FINAL_DELIVERY_STATUSES as string[]).includes(delivery.status)) {
        return { status: 'skipped', reason: 'delivery already-finished' }; // nothing is sent twice
      }
      const found = await notifiedRecord(db, notification);
      if ('cancelled' in found) {
        await cancelDelivery(db, delivery.id, found.cancelled);
        return { status: 'skipped', reason: `delivery cancelled: ${found.cancelled}` };
      }
      const attempt = {
        attempt: ctx.attempt,
        last: ctx.attempt > retry.retryLimit,
        signal: ctx.signal,
        requestId: ctx.requestId,
      };
      const outcome = await deliver(
        delivery,
        notifyEnvelope(notification, found.record, receiver),
        attempt,
        options,
      );
      if (outcome !== 'delivered') {
        return { status: 'skipped', reason: `delivery ${outcome}` };
      }
      // The record left without a request of the client's to audit it: the job does.
      await recordAudit(db, {
        clientId: subscription.client_id,
        action: `dci.${subscription.registry}.notify`,
        resourceType: 'dci_subscription',
        resourceId: subscription.code,
        recordCount: 1,
        subjectIds: [found.subjectId],
        ...(subscription.purpose ? { purpose: subscription.purpose } : {}),
        outcome: 'success',
      });
      return { status: 'done', result: { delivery: delivery.id } };
    },
  });
}
