import type { Kysely, Selectable } from 'kysely';
import type { DB, DciRegistryEventTable } from '#platform/db/types';
import type { Envelope, Receiver, ResponseHeader } from '../envelope.ts';
import type { DeliveryRow } from '../exchange/deliveries.ts';
import { subscriberOf } from '../exchange/receive.ts';
import { loadRecords, type RecordShape } from '../load.ts';
import type { Entity } from '../query/attributes.ts';
import type { DciRecord } from '../records.ts';
import { SUBJECT_COLUMN } from './events.ts';
import { localeOf, notifyHeader } from './messages.ts';
import type { SubscriptionRow } from './queries.ts';

/**
 * A notification (`/registry/notify`, spec NotifyEventRequest): one registry event, for one
 * subscription, in one message whose message id is the delivery's (the same on every attempt, so
 * that a subscriber recognises a repeat). The record is read when the message is built, as the
 * subscribing client may see it now (field policy of its role); nothing personal is stored.
 */

export type EventRow = Selectable<DciRegistryEventTable>;

export interface Notification {
  delivery: DeliveryRow;
  subscription: SubscriptionRow;
  event: EventRow;
}

/** A notification delivery with its subscription and event, or undefined (not a notification). */
export async function findNotification(
  db: Kysely<DB>,
  deliveryId: string,
): Promise<Notification | undefined> {
  const delivery = await db
    .selectFrom('dci_deliveries')
    .selectAll()
    .where('id', '=', deliveryId)
    .executeTakeFirst();
  if (!delivery?.subscription_id || delivery.event_id === null) {
    return undefined;
  }
  const [subscription, event] = await Promise.all([
    db
      .selectFrom('dci_subscriptions')
      .selectAll()
      .where('id', '=', delivery.subscription_id)
      .executeTakeFirst(),
    db.selectFrom('dci_registry_events').selectAll().where('id', '=', delivery.event_id).executeTakeFirst(),
  ]);
  return subscription && event ? { delivery, subscription, event } : undefined;
}

/** The record to notify and whose it is, or why the notification is dropped unsent. */
export async function notifiedRecord(
  db: Kysely<DB>,
  { subscription, event }: Notification,
): Promise<{ record: DciRecord; subjectId: string } | { cancelled: string }> {
  if (subscription.status !== 'active') {
    return { cancelled: 'the subscription ended before the notification was sent' };
  }
  const principal = await subscriberOf(db, subscription);
  if (!principal) {
    return { cancelled: 'the client was disabled, or has no usable key that may read the registry' };
  }
  const subjectId = event[SUBJECT_COLUMN[subscription.entity as Entity]];
  const [record] = subjectId
    ? await loadRecords(db, subscription.record_shape as RecordShape, [subjectId], principal)
    : [];
  return record && subjectId ? { record, subjectId } : { cancelled: 'the record no longer exists' };
}

/**
 * The NotifyEventRequest envelope. reference_id is the subscription code (the message has no other
 * place for it: the subscriber learns which of its subscriptions fired), transaction_id the
 * delivery's id, timestamp the time of the change (its transaction's).
 */
export function notifyEnvelope(
  { delivery, subscription, event }: Notification,
  record: DciRecord,
  receiver: Receiver,
): Envelope<ResponseHeader, unknown> {
  return {
    header: notifyHeader(delivery.message_id, receiver, subscription.sender_id),
    message: {
      transaction_id: delivery.id,
      notify_event: [
        {
          reference_id: subscription.code,
          timestamp: event.occurred_at.toISOString(),
          data: {
            version: '1.0.0',
            reg_type: subscription.reg_type,
            reg_event_type: subscription.reg_event_type,
            reg_record_type: subscription.notify_record_type,
            reg_records: record,
          },
          ...localeOf(subscription.locale),
        },
      ],
    },
  };
}
