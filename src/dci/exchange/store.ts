import { sql, type Kysely, type Selectable } from 'kysely';
import type { CredentialColumns } from '#security/stored-credential';
import type { AlongsideRow } from '#platform/audit/audit-log';
import { Batcher } from '#platform/db/batch';
import { isUniqueViolation } from '#platform/db/errors';
import { JSON_TEXT, slicedJson } from '#platform/http/long-reads';
import type { DB, DciExchangeTable } from '#platform/db/types';
import type { DciStatus } from '../errors.ts';
import type { Registry } from '../spec.ts';

/**
 * The DCI messages clients sent us (`dci_exchanges`), one small query each. Every lookup made on a
 * client's behalf names the client: another client's message is never found.
 */

export type ExchangeOperation =
  'search' | 'txn-status' | 'enrolled' | 'enrollment-updates' | 'subscribe' | 'unsubscribe';
export type ExchangeRow = Selectable<DciExchangeTable>;

export interface NewExchange {
  id: string;
  clientId: string;
  /** The credential it came with (its key_id, auth_method and scopes columns). */
  credential: CredentialColumns;
  registry: Registry;
  operation: ExchangeOperation;
  mode: 'sync' | 'async';
  messageId: string;
  senderId: string;
  transactionId: string;
  correlationId: string;
  referenceIds: string[];
  status: DciStatus;
  reason?: { code?: string | undefined; message: string } | undefined;
  /** What was asked, without values. */
  summary: Record<string, unknown>;
  /** Async only: the message to answer later. */
  request?: unknown;
  /** A sync message recorded once answered: the answer as kept for txn status. */
  response?: unknown;
  callbackUri?: string | undefined;
  requestId?: string | undefined;
}

// jsonb values are sent as text: `pg` would turn a top-level array into a PostgreSQL array.
const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

const rowOf = (x: NewExchange) => ({
  id: x.id,
  client_id: x.clientId,
  ...x.credential,
  registry: x.registry,
  operation: x.operation,
  mode: x.mode,
  message_id: x.messageId,
  sender_id: x.senderId,
  transaction_id: x.transactionId,
  correlation_id: x.correlationId,
  reference_ids: x.referenceIds,
  status: x.status,
  status_reason_code: x.reason?.code ?? null,
  status_reason_message: x.reason?.message ?? null,
  summary: JSON.stringify(x.summary),
  request: json(x.request),
  response: json(x.response),
  callback_uri: x.callbackUri ?? null,
  request_id: x.requestId ?? null,
});

/**
 * Records received messages; for each, false when the client's message id was already accepted (the
 * partial unique index on accepted messages decides, so two racing copies cannot both pass, nor two
 * copies in one batch: DO NOTHING skips the second).
 */
async function insertExchanges(db: Kysely<DB>, exchanges: readonly NewExchange[]): Promise<boolean[]> {
  const inserted = await db
    .insertInto('dci_exchanges')
    .values(exchanges.map(rowOf))
    .onConflict((oc) => oc.columns(['client_id', 'message_id']).where('status', '<>', 'rjct').doNothing())
    .returning('id')
    .execute();
  const ids = new Set(inserted.map((row) => row.id));
  return exchanges.map((x) => ids.has(x.id));
}

/** Records one received message: false when its message id was already accepted from this client. */
export type RecordExchange = (exchange: NewExchange) => Promise<boolean>;

/**
 * Records messages of concurrent requests in one statement (Batcher): one insert and one commit for
 * the messages that arrive while the previous ones are written.
 */
export function exchangeRecorder(db: Kysely<DB>): RecordExchange {
  const insertOne = async (x: NewExchange) => (await insertExchanges(db, [x]))[0]!;
  const batcher = new Batcher((items: NewExchange[]) => insertExchanges(db, items), { writeOne: insertOne });
  return (exchange) => batcher.submit(exchange);
}

/** The partial unique index on the message ids of a client's accepted messages (migration 0004). */
const ACCEPTED_MESSAGE_INDEX = 'dci_exchanges_message';

/**
 * Records a message already answered in the same statement as the request's audit entry
 * (`recordAnswer`, platform/http/access-control.ts): one round trip and one commit for both. A
 * message id already accepted from the client refuses the statement: neither is written, and the
 * answer is false.
 */
export function recordWithAnswer(recordAnswer: (alongside: AlongsideRow) => Promise<void>): RecordExchange {
  return async (exchange) => {
    try {
      await recordAnswer({ into: 'dci_exchanges', values: rowOf(exchange) });
      return true;
    } catch (error) {
      if (isUniqueViolation(error, ACCEPTED_MESSAGE_INDEX)) {
        return false;
      }
      throw error;
    }
  };
}

export interface ExchangeEnd {
  status: DciStatus;
  reason?: { code?: string | undefined; message: string } | undefined;
  /** The response envelope to keep (txn status, callbacks). */
  response?: unknown;
}

/**
 * Stores how a message was answered, and drops the request it no longer needs. The answer is written
 * a slice at a time: an async search answer may hold 10,000 records (some 40 MB of JSON).
 */
export async function finishExchange(db: Kysely<DB>, id: string, end: ExchangeEnd): Promise<void> {
  const response = end.response === undefined ? null : await slicedJson(end.response, JSON_TEXT);
  await db
    .updateTable('dci_exchanges')
    .set({
      status: end.status,
      status_reason_code: end.reason?.code ?? null,
      status_reason_message: end.reason?.message ?? null,
      response,
      request: null,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

export const findExchange = (db: Kysely<DB>, id: string): Promise<ExchangeRow | undefined> =>
  db.selectFrom('dci_exchanges').selectAll().where('id', '=', id).executeTakeFirst();

/** How a txn status request names the transaction it asks about (`TxnStatusRequest.attribute_type`). */
export type TransactionLookup =
  | { by: 'transaction_id'; value: string }
  | { by: 'correlation_id'; value: string }
  | { by: 'reference_id_list'; value: string[] };

/** The client's latest message of this operation matching the lookup, on this registry. */
export async function findOwnExchange(
  db: Kysely<DB>,
  scope: { clientId: string; registry: Registry; operation: ExchangeOperation },
  lookup: TransactionLookup,
): Promise<ExchangeRow | undefined> {
  let query = db
    .selectFrom('dci_exchanges')
    .selectAll()
    .where('client_id', '=', scope.clientId)
    .where('registry', '=', scope.registry)
    .where('operation', '=', scope.operation);
  switch (lookup.by) {
    case 'transaction_id':
      query = query.where('transaction_id', '=', lookup.value);
      break;
    case 'correlation_id':
      query = query.where('correlation_id', '=', lookup.value);
      break;
    case 'reference_id_list':
      query = query.where(sql<boolean>`reference_ids && ${sql.val(lookup.value)}::text[]`);
      break;
  }
  return query.orderBy('created_at', 'desc').orderBy('id').limit(1).executeTakeFirst();
}
