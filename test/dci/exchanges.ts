import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { until } from './callback-server.ts';
import { searchMessage, type TestMessage } from './harness.ts';

/** Reading the exchange tables in the async stories, and building async search messages. */

/** A search message whose callback goes to `senderUri` (or, when undefined, to the registered URI). */
export function asyncSearch(
  senderUri: string | undefined,
  ...criteria: Record<string, unknown>[]
): TestMessage {
  const message = searchMessage(...criteria);
  if (senderUri === undefined) {
    delete message.header['sender_uri'];
  } else {
    message.header['sender_uri'] = senderUri;
  }
  return message;
}

/** The client's latest exchange of this DCI transaction id. */
export const exchangeOf = (db: Kysely<DB>, clientId: string, transactionId: string) =>
  db
    .selectFrom('dci_exchanges')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('transaction_id', '=', transactionId)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();

/** The delivery attempts logged for a delivery, in order. */
export const attemptsOf = (db: Kysely<DB>, deliveryId: string) =>
  db.selectFrom('dci_exchange_log').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute();

/** Waits until the exchange's callback delivery reaches `status`, and returns it. */
export const settled = (db: Kysely<DB>, exchangeId: string, status: string) =>
  until(
    async () => {
      const delivery = await db
        .selectFrom('dci_deliveries')
        .selectAll()
        .where('exchange_id', '=', exchangeId)
        .executeTakeFirst();
      return delivery?.status === status ? delivery : undefined;
    },
    20_000,
    `delivery ${status}`,
  );
