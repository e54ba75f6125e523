import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, DciDeliveryTable } from '#platform/db/types';

/**
 * Outgoing callbacks (`dci_deliveries`) and the log of every attempt (`dci_exchange_log`). A
 * delivery is one message with one message id, whatever the number of attempts: the receiver can
 * recognise a repeat, and a delivered message is never sent again.
 */

export type DeliveryRow = Selectable<DciDeliveryTable>;
/** cancelled (notifications only, migration 0006): dropped unsent, e.g. after an unsubscribe. */
export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'refused' | 'dead' | 'cancelled';

/** Finished deliveries: nothing is sent for them any more. */
export const FINAL_DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'delivered',
  'refused',
  'dead',
  'cancelled',
];

export interface NewDelivery {
  id: string;
  exchangeId: string;
  clientId: string;
  action: string;
  messageId: string;
  callbackUri: string;
}

/** The delivery of this exchange's callback, created on first use (a retried job finds the first one). */
export async function ensureDelivery(db: Kysely<DB>, d: NewDelivery): Promise<DeliveryRow> {
  await db
    .insertInto('dci_deliveries')
    .values({
      id: d.id,
      exchange_id: d.exchangeId,
      client_id: d.clientId,
      action: d.action,
      message_id: d.messageId,
      callback_uri: d.callbackUri,
      status: 'pending',
    })
    // The unique index on (exchange_id, action) covers callbacks, not notifications (migration 0006).
    .onConflict((oc) => oc.columns(['exchange_id', 'action']).where('event_id', 'is', null).doNothing())
    .execute();
  return db
    .selectFrom('dci_deliveries')
    .selectAll()
    .where('exchange_id', '=', d.exchangeId)
    .where('action', '=', d.action)
    .executeTakeFirstOrThrow();
}

/** Drops an unfinished delivery unsent, saying why (no attempt is made or logged). */
export async function cancelDelivery(db: Kysely<DB>, id: string, reason: string): Promise<void> {
  await db
    .updateTable('dci_deliveries')
    .set({ status: 'cancelled', last_error: reason, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'retrying'])
    .execute();
}

export interface AttemptResult {
  status: Exclude<DeliveryStatus, 'pending'>;
  statusCode?: number | undefined;
  error?: string | undefined;
}

/** Records the end of an attempt on the delivery. */
export async function endDeliveryAttempt(db: Kysely<DB>, id: string, result: AttemptResult): Promise<void> {
  await db
    .updateTable('dci_deliveries')
    .set((eb) => ({
      status: result.status,
      attempts: eb('attempts', '+', 1),
      last_status_code: result.statusCode ?? null,
      last_error: result.error ?? null,
      updated_at: sql`now()`,
      ...(result.status === 'delivered' ? { delivered_at: sql`now()` } : {}),
    }))
    .where('id', '=', id)
    .execute();
}

export interface ExchangeLogEntry {
  clientId: string;
  /** Absent for a test event, which belongs to no exchange. */
  exchangeId: string | undefined;
  deliveryId: string | undefined;
  peerOrigin: string;
  action: string;
  messageId: string;
  attempt: number;
  outcome: 'delivered' | 'failed' | 'refused';
  statusCode?: number | undefined;
  durationMs: number;
  error?: string | undefined;
  requestId?: string | undefined;
}

/** Appends one outgoing attempt to the exchange log (no personal data: origin, ids, status, timing). */
export async function logOutgoing(db: Kysely<DB>, entry: ExchangeLogEntry): Promise<void> {
  await db
    .insertInto('dci_exchange_log')
    .values({
      direction: 'out',
      client_id: entry.clientId,
      exchange_id: entry.exchangeId ?? null,
      delivery_id: entry.deliveryId ?? null,
      peer_origin: entry.peerOrigin,
      action: entry.action,
      message_id: entry.messageId,
      attempt: entry.attempt,
      outcome: entry.outcome,
      status_code: entry.statusCode ?? null,
      duration_ms: Math.round(entry.durationMs),
      error: entry.error ?? null,
      request_id: entry.requestId ?? null,
    })
    .execute();
}
