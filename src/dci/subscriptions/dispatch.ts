import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '#platform/db/types';
import type { JobLogger, JobQueue } from '#platform/jobs/queue';
import { consentRequired } from '../consent.ts';
import { DciError } from '../errors.ts';
import { subscriberOf } from '../exchange/receive.ts';
import type { Entity } from '../query/attributes.ts';
import type { Registry } from '../spec.ts';
import { nextNotificationTime, subscriptionWhere } from './criteria.ts';
import { SUBJECT_COLUMN } from './events.ts';
import type { SubscriptionRow } from './queries.ts';

/**
 * The dispatcher of the outbox: registry events (written by the triggers of migration 0006 with the
 * changes themselves) are matched against the active subscriptions, in SQL, and each match becomes
 * one notification delivery, then one job that sends it. Safe to run in several gateways at once:
 * events are claimed with FOR UPDATE SKIP LOCKED, a delivery is unique per (event, subscription),
 * and a delivery is queued under its own id as singleton key.
 */

export const NOTIFY_JOB = 'dci.notify';

export interface DispatchOptions {
  db: Kysely<DB>;
  jobs: JobQueue;
  log: Pick<JobLogger, 'warn'>;
  /** Events claimed per transaction (default 500). */
  batchSize?: number;
}

const QUEUE_BATCH = 200;

/** One round: a batch of events matched, then unqueued notifications queued. True when more wait. */
export async function dispatchNotifications(options: DispatchOptions): Promise<boolean> {
  const batchSize = options.batchSize ?? 500;
  const events = await matchEvents(options, batchSize);
  const queued = await queueNotifications(options);
  return events === batchSize || queued === QUEUE_BATCH;
}

/**
 * Claims a batch of undispatched events and, in the same transaction, creates the notifications of
 * every active subscription they match; events matching none are deleted, the others marked
 * dispatched. A crash before the commit leaves the batch undispatched, for the next round.
 */
async function matchEvents(options: DispatchOptions, batchSize: number): Promise<number> {
  return options.db.transaction().execute(async (trx) => {
    const ids = (
      await trx
        .selectFrom('dci_registry_events')
        .select('id')
        .where('dispatched_at', 'is', null)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute()
    ).map((row) => row.id);
    if (ids.length === 0) {
      return 0;
    }
    for (const subscription of await subscriptionsHearing(trx, ids)) {
      await notifyMatches(trx, subscription, ids, options.log);
    }
    await trx
      .deleteFrom('dci_registry_events as ev')
      .where('ev.id', 'in', ids)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('dci_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'ev.id'))),
      )
      .execute();
    await trx
      .updateTable('dci_registry_events')
      .set({ dispatched_at: sql`now()` })
      .where('id', 'in', ids)
      .execute();
    return ids.length;
  });
}

/** Active subscriptions to the kinds of events in the batch. */
const subscriptionsHearing = (db: Kysely<DB>, ids: number[]): Promise<SubscriptionRow[]> =>
  db
    .selectFrom('dci_subscriptions as s')
    .selectAll('s')
    .where('s.status', '=', 'active')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('dci_registry_events as ev')
          .select('ev.id')
          .whereRef('ev.entity', '=', 's.event_entity')
          .whereRef('ev.kind', '=', 's.event_kind')
          .where('ev.id', 'in', ids),
      ),
    )
    .orderBy('s.created_at')
    .execute();

/** The record a subscription is about, joined to the event by its id (aliases of query/compile.ts). */
const SUBJECT: Record<Entity, RawBuilder<unknown>> = {
  person: sql`join individuals i on i.id = ev.individual_id`,
  group: sql`join households h on h.id = ev.household_id`,
  beneficiary: sql`join enrollments e on e.id = ev.enrollment_id join programs p on p.id = e.program_id`,
};

/**
 * One subscription's notifications for the batch: its kind of event, after it subscribed, within its
 * window, about a record its filter matches now. A subscription whose client lost its access, or
 * whose filter its client may no longer use, is passed over (its events are not notified).
 */
async function notifyMatches(
  db: Kysely<DB>,
  subscription: SubscriptionRow,
  ids: number[],
  log: DispatchOptions['log'],
): Promise<void> {
  const principal = await subscriberOf(db, subscription);
  if (!principal) {
    return;
  }
  const entity = subscription.entity as Entity;
  let where;
  try {
    where = subscriptionWhere(
      subscription.registry as Registry,
      {
        regType: subscription.reg_type,
        recordType: subscription.notify_record_type,
        filterType: subscription.filter_type,
        filter: subscription.filter,
      },
      principal,
      {
        required: await consentRequired(db, subscription.client_id),
        purpose: subscription.purpose ?? undefined,
      },
    );
  } catch (error) {
    if (error instanceof DciError) {
      log.warn(
        { subscription: subscription.code, code: error.code },
        'DCI subscription filter no longer allowed',
      );
      return;
    }
    throw error;
  }
  const s = subscription;
  await sql`insert into dci_deliveries
      (id, exchange_id, client_id, action, message_id, callback_uri, status, subscription_id, event_id)
    select gen_random_uuid(), ${s.exchange_id}, ${s.client_id}, 'notify', gen_random_uuid()::text,
      ${s.notify_uri}, 'pending', ${s.id}, ev.id
    from dci_registry_events ev ${SUBJECT[entity]}
    where ev.id in (${sql.join(ids)}) and ev.entity = ${s.event_entity} and ev.kind = ${s.event_kind}
      and ev.id > ${s.after_event_id}
      and ${sql.ref(`ev.${SUBJECT_COLUMN[entity]}`)} is not null
      and ev.occurred_at >= coalesce(${s.starts_at}::timestamptz, '-infinity')
      and ev.occurred_at <= coalesce(${s.ends_at}::timestamptz, 'infinity')
      and ${where}
    on conflict do nothing`.execute(db);
}

/**
 * Queues the job of each notification not queued yet (a crash between creating and queuing included):
 * at once, or, for a subscription with a cron frequency, at the next time the expression names.
 */
async function queueNotifications({ db, jobs }: DispatchOptions): Promise<number> {
  const waiting = await db
    .selectFrom('dci_deliveries as d')
    .innerJoin('dci_subscriptions as s', 's.id', 'd.subscription_id')
    .select(['d.id', 'd.client_id', 'd.not_before', 's.frequency'])
    .where('d.job_id', 'is', null)
    .where('d.event_id', 'is not', null)
    .orderBy('d.created_at')
    .limit(QUEUE_BATCH)
    .execute();
  for (const delivery of waiting) {
    const notBefore = delivery.not_before ?? scheduledTime(delivery.frequency);
    const jobId = await jobs.enqueue(
      NOTIFY_JOB,
      { deliveryId: delivery.id },
      { singletonKey: delivery.id, createdBy: delivery.client_id, startAfter: notBefore ?? undefined },
    );
    await db
      .updateTable('dci_deliveries')
      .set({ job_id: jobId, not_before: notBefore })
      .where('id', '=', delivery.id)
      .where('job_id', 'is', null)
      .execute();
  }
  return waiting.length;
}

/** When a notification of a subscription with this frequency may leave (null: at once). */
function scheduledTime(frequency: unknown): Date | null {
  const expression = (frequency as { frequency?: unknown } | null)?.frequency;
  return typeof expression === 'string' ? nextNotificationTime(expression, new Date()) : null;
}
