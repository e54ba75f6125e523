import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { conflict, notFound, ProblemError } from '#platform/problem';
import type { JobQueue } from '#platform/jobs/queue';
import type { DeliveryRow, DeliveryStatus } from './deliveries.ts';
import { findExchange } from './store.ts';

/**
 * Replaying a dead-lettered callback: an administrator, once the client's endpoint is back (or its
 * settings fixed), sends a dead or refused delivery again. The delivery keeps its message id, so a
 * receiver that did get an earlier attempt recognises the repeat; the job that answers the exchange
 * runs again and, its answer being stored, goes straight to delivering it.
 */

/** Statuses a delivery may be replayed from. */
export const REPLAYABLE: readonly DeliveryStatus[] = ['dead', 'refused'];

/** The job kind that delivers the answer to each kind of async exchange (dciJobKinds defines them). */
export type ReplayJobs = Readonly<Record<string, string>>;

export interface ReplayRequest {
  deliveryId: string;
  requestId?: string | undefined;
  /** The administrator replaying it. */
  by?: string | undefined;
}

export async function replayDelivery(
  db: Kysely<DB>,
  jobs: JobQueue,
  replayJobs: ReplayJobs,
  request: ReplayRequest,
): Promise<DeliveryRow> {
  const delivery = await db
    .selectFrom('dci_deliveries')
    .selectAll()
    .where('id', '=', request.deliveryId)
    .executeTakeFirst();
  if (!delivery) {
    throw notFound('delivery');
  }
  const job = await replayableJob(db, delivery, replayJobs);
  // Conditional on the status read above: of two racing replays, one wins.
  const reopened = await db
    .updateTable('dci_deliveries')
    .set({ status: 'pending', updated_at: sql`now()` })
    .where('id', '=', delivery.id)
    .where('status', '=', delivery.status)
    .returningAll()
    .executeTakeFirst();
  if (!reopened) {
    throw conflict('the delivery changed meanwhile (replayed by someone else?); read it again');
  }
  try {
    // A notification (DCI subscriptions, migration 0006) is sent by its own job, from the delivery.
    const payload =
      delivery.event_id === null ? { exchangeId: delivery.exchange_id } : { deliveryId: delivery.id };
    await jobs.enqueue(job, payload, { requestId: request.requestId, createdBy: request.by });
  } catch (error) {
    await db
      .updateTable('dci_deliveries')
      .set({ status: delivery.status })
      .where('id', '=', delivery.id)
      .execute();
    throw error;
  }
  return reopened;
}

async function replayableJob(db: Kysely<DB>, delivery: DeliveryRow, replayJobs: ReplayJobs): Promise<string> {
  if (!(REPLAYABLE as string[]).includes(delivery.status)) {
    throw conflict(
      `only ${REPLAYABLE.join(' or ')} deliveries can be replayed; this one is ${delivery.status}`,
    );
  }
  if (delivery.event_id !== null && replayJobs['notify']) {
    return replayJobs['notify']; // its record is read again when it is sent: nothing to purge
  }
  const exchange = await findExchange(db, delivery.exchange_id);
  if (exchange?.purged_at) {
    throw new ProblemError(
      410,
      'gone',
      'Gone',
      'the answer was purged at the end of its retention period; the client must send its request again',
    );
  }
  const job = exchange ? replayJobs[exchange.operation] : undefined;
  if (!job) {
    throw conflict(`deliveries of ${exchange?.operation ?? 'this'} exchange cannot be replayed`);
  }
  return job;
}
