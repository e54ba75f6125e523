import type { CredentialColumns } from '#security/stored-credential';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, DciSubscriptionTable } from '#platform/db/types';
import type { Registry } from '../spec.ts';
import type { SubscriptionPlan } from './criteria.ts';

/**
 * The SQL of subscriptions (`dci_subscriptions`), one small query each. Every lookup made on a
 * client's behalf names the client: another client's subscription is never found.
 */

export type SubscriptionRow = Selectable<DciSubscriptionTable>;

export interface NewSubscription {
  id: string;
  code: string;
  clientId: string;
  credential: CredentialColumns;
  registry: Registry;
  exchangeId: string;
  referenceId: string;
  plan: SubscriptionPlan;
  locale?: string | undefined;
  senderId: string;
  notifyUri: string;
}

/**
 * Records accepted subscribe items in one transaction: all of them, or none. An item already
 * recorded (a retried job) is kept as it is; one whose criteria the client already subscribed to
 * is not added (`dci_subscriptions_criteria`). Returns the subscriptions of this message by
 * reference id: an item missing from it was a duplicate of an active subscription.
 */
export async function recordSubscriptions(
  db: Kysely<DB>,
  exchangeId: string,
  items: NewSubscription[],
): Promise<Map<string, SubscriptionRow>> {
  if (items.length > 0) {
    await db.transaction().execute(async (trx) => {
      // Events up to now are about changes made before the subscription: not notified.
      const { max } = await trx
        .selectFrom('dci_registry_events')
        .select((eb) => eb.fn.coalesce(eb.fn.max('id'), sql<number>`0`).as('max'))
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('dci_subscriptions')
        .values(items.map((item) => subscriptionValues(item, Number(max))))
        .onConflict((oc) => oc.doNothing())
        .execute();
    });
  }
  const rows = await db
    .selectFrom('dci_subscriptions')
    .selectAll()
    .where('exchange_id', '=', exchangeId)
    .execute();
  return new Map(rows.map((row) => [row.reference_id, row]));
}

function subscriptionValues(item: NewSubscription, afterEventId: number) {
  const { plan } = item;
  return {
    id: item.id,
    code: item.code,
    client_id: item.clientId,
    ...item.credential,
    registry: item.registry,
    exchange_id: item.exchangeId,
    reference_id: item.referenceId,
    status: 'active',
    reg_type: plan.regType,
    reg_event_type: plan.eventType,
    notify_record_type: plan.recordType,
    record_shape: plan.shape,
    entity: plan.entity,
    event_entity: plan.source.entity,
    event_kind: plan.source.kind,
    filter_type: plan.filterType,
    filter: JSON.stringify(plan.filter),
    fingerprint: plan.fingerprint,
    purpose: plan.purpose ?? null,
    starts_at: plan.window.startsAt ?? null,
    ends_at: plan.window.endsAt ?? null,
    frequency: plan.window.frequency ? JSON.stringify(plan.window.frequency) : null,
    locale: item.locale ?? null,
    sender_id: item.senderId,
    notify_uri: item.notifyUri,
    after_event_id: afterEventId,
  };
}

/** The client's subscriptions with these codes on this registry (others' are not found). */
export function ownSubscriptions(
  db: Kysely<DB>,
  scope: { clientId: string; registry: Registry },
  codes: string[],
): Promise<SubscriptionRow[]> {
  return db
    .selectFrom('dci_subscriptions')
    .selectAll()
    .where('client_id', '=', scope.clientId)
    .where('registry', '=', scope.registry)
    .where('code', 'in', codes)
    .execute();
}

/** Ends active subscriptions (only those still active: of two racing unsubscribes, one ends them). */
export async function endSubscriptions(db: Kysely<DB>, ids: string[], exchangeId: string): Promise<void> {
  await db
    .updateTable('dci_subscriptions')
    .set({
      status: 'unsubscribed',
      ended_at: sql`now()`,
      updated_at: sql`now()`,
      end_exchange_id: exchangeId,
    })
    .where('id', 'in', ids)
    .where('status', '=', 'active')
    .execute();
}

export interface SubscriptionListing {
  clientId?: string | undefined;
  status?: string | undefined;
  limit: number;
}

/** Subscriptions, newest first, with their notifications counted by delivery status. */
export async function listSubscriptions(db: Kysely<DB>, filter: SubscriptionListing) {
  const count = (status: string) =>
    sql<number>`count(d.id) filter (where d.status = ${status})::int`.as(status);
  return db
    .selectFrom('dci_subscriptions as s')
    .innerJoin('api_clients as c', 'c.id', 's.client_id')
    .leftJoin('dci_deliveries as d', 'd.subscription_id', 's.id')
    .select([
      's.code',
      's.client_id',
      'c.name as client_name',
      's.registry',
      's.status',
      's.reg_event_type',
      's.notify_record_type',
      's.filter_type',
      's.starts_at',
      's.ends_at',
      's.created_at',
      's.ended_at',
    ])
    .select([
      count('pending'),
      count('retrying'),
      count('delivered'),
      count('refused'),
      count('dead'),
      count('cancelled'),
    ])
    .$if(filter.clientId !== undefined, (q) => q.where('s.client_id', '=', filter.clientId!))
    .$if(filter.status !== undefined, (q) => q.where('s.status', '=', filter.status!))
    .groupBy(['s.id', 'c.name'])
    .orderBy('s.created_at', 'desc')
    .orderBy('s.id', 'desc')
    .limit(filter.limit)
    .execute();
}
