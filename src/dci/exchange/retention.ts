import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';

/**
 * Retention of async answers. An async search answer is stored with its records until it is
 * delivered, so that retries and a replay send the same message. Once nothing is pending for it
 * and the retention period has passed, the records are removed: the exchange keeps its item
 * statuses (what txn status reports) and notes when it was purged. Sync answers never store records.
 */

/** Purges answers last touched before `before`; returns how many exchanges were purged. */
export async function purgeStoredAnswers(db: Kysely<DB>, before: Date): Promise<number> {
  const result = await db
    .updateTable('dci_exchanges as x')
    .set({
      request: null,
      response: sql`case when x.response -> 'message' -> 'search_response' is null then x.response
        else jsonb_set(x.response, '{message,search_response}', (
          select coalesce(jsonb_agg(item - 'data' order by n), '[]'::jsonb)
          from jsonb_array_elements(x.response -> 'message' -> 'search_response') with ordinality as items(item, n)))
        end`,
      purged_at: sql`now()`,
    })
    .where('x.mode', '=', 'async')
    .where('x.purged_at', 'is', null)
    .where('x.updated_at', '<', before)
    .where('x.status', 'in', ['succ', 'rjct'])
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('dci_deliveries as d')
            .select('d.id')
            .whereRef('d.exchange_id', '=', 'x.id')
            .where('d.status', 'in', ['pending', 'retrying']),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Purges finished notifications last touched before `before`, and the outbox events they were made
 * of (ids only, but they grow with every change while subscriptions exist). Their attempts stay in
 * the exchange log and the records sent in the audit trail; an event gone cannot be notified again.
 */
export async function purgeNotifications(db: Kysely<DB>, before: Date): Promise<number> {
  const deleted = await db
    .deleteFrom('dci_deliveries')
    .where('event_id', 'is not', null)
    .where('status', 'in', ['delivered', 'refused', 'dead', 'cancelled'])
    .where('updated_at', '<', before)
    .executeTakeFirst();
  await db
    .deleteFrom('dci_registry_events as e')
    .where('e.dispatched_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('dci_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'e.id'))),
    )
    .execute();
  return Number(deleted.numDeletedRows);
}

/** Purges answers and notifications older than `hours`, every few minutes, for the life of the gateway. */
export function purgeAnswersPeriodically(
  db: Kysely<DB>,
  hours: number,
  onError: (error: unknown) => void,
): Periodic {
  const periodMs = hours * 3_600_000;
  return runPeriodically(
    Math.min(periodMs / 4, 10 * 60_000),
    async () => {
      const before = new Date(Date.now() - periodMs);
      await purgeStoredAnswers(db, before);
      await purgeNotifications(db, before);
    },
    onError,
  );
}
