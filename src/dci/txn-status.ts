import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import {
  readEnvelope,
  rejectedEnvelope,
  responseHeader,
  type Envelope,
  type Receiver,
  type RequestHeader,
  type ResponseHeader,
} from './envelope.ts';
import { DciError, type DciStatus } from './errors.ts';
import { findOwnExchange, type ExchangeRow, type TransactionLookup } from './exchange/store.ts';
import type { SearchResponseItem } from './search.ts';
import { validateRequest, type Operation, type Registry } from './spec.ts';

/**
 * Transaction status (`/registry/sync/txn/status`, and async `/registry/txn/status` answered on
 * `/registry/txn/on-status`), free of HTTP. The transaction asked about is found by transaction_id,
 * correlation_id or reference ids (spec TxnStatusRequest.attribute_type), among the calling client's
 * own messages only: another client's transaction is not found, exactly like one that never was.
 */

export const SYNC_TXN_STATUS = '/registry/sync/txn/status';
export const TXN_STATUS = '/registry/txn/status';
export const ON_TXN_STATUS = '/registry/txn/on-status';

type TxnType = 'search' | 'subscribe' | 'receipt';

interface TxnStatusRequestMessage {
  transaction_id: string;
  txnstatus_request: {
    reference_id: string;
    txn_type: TxnType;
    attribute_type: TransactionLookup['by'];
    attribute_value: unknown;
  };
}

export interface ParsedTxnStatus {
  header: RequestHeader;
  transactionId: string;
  referenceId: string;
  txnType: TxnType;
  lookup: TransactionLookup;
}

export interface TxnStatusContext {
  db: Kysely<DB>;
  registry: Registry;
  clientId: string;
  receiver: Receiver;
  /** The correlation id of this status request (announced in the ACK when async). */
  correlationId: string;
}

export interface TxnStatusResult {
  envelope: Envelope<ResponseHeader, unknown>;
  /** False when no transaction of the client matches: the header is `rjct`. */
  found: boolean;
  /** Records in the answer (those kept for an async search), for the audit trail. */
  recordCount: number;
}

/** Validates a txn status message and reads what it asks about. */
export function parseTxnStatus(body: unknown, operation: Operation, receiver: Receiver): ParsedTxnStatus {
  const { header, message } = readEnvelope<TxnStatusRequestMessage>(
    body,
    validateRequest(operation, body),
    'txnstatus_request',
    receiver,
  );
  const request = message.txnstatus_request;
  return {
    header,
    transactionId: message.transaction_id,
    referenceId: request.reference_id,
    txnType: request.txn_type,
    lookup: lookupOf(request.attribute_type, request.attribute_value),
  };
}

/** attribute_value is a string for transaction_id and correlation_id, a list for reference_id_list. */
function lookupOf(by: TransactionLookup['by'], value: unknown): TransactionLookup {
  const list = by === 'reference_id_list';
  const fits = list
    ? Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')
    : typeof value === 'string' && value !== '';
  if (!fits) {
    throw new DciError('err.request.bad', `attribute_value does not fit attribute_type ${by}`, [
      {
        pointer: '/message/txnstatus_request/attribute_value',
        detail: list ? 'must be a non-empty list of reference ids' : 'must be a non-empty string',
      },
    ]);
  }
  return { by, value } as TransactionLookup;
}

/** The transactions a txn status can ask about, and the list of their answer that holds the items. */
const ANSWER_LISTS = { search: 'search_response', subscribe: 'subscribe_response' } as const;
type KeptTxnType = keyof typeof ANSWER_LISTS;
const isKept = (txnType: TxnType): txnType is KeptTxnType => txnType in ANSWER_LISTS;

/** Answers a txn status message: the status of the client's own transaction, or `rjct` if none. */
export async function answerTxnStatus(
  parsed: ParsedTxnStatus,
  ctx: TxnStatusContext,
): Promise<TxnStatusResult> {
  // Receipts (of notifications we sent) are not transactions a client holds with us: never found.
  const row = isKept(parsed.txnType)
    ? await findOwnExchange(
        ctx.db,
        { clientId: ctx.clientId, registry: ctx.registry, operation: parsed.txnType },
        parsed.lookup,
      )
    : undefined;
  if (!row || !isKept(parsed.txnType)) {
    return notFound(parsed, ctx);
  }
  const header = responseHeader(parsed.header, ctx.receiver, {
    action: 'txn-on-status',
    status: 'succ',
    total: 1,
    completed: 1,
  });
  // The records of a transaction answered encrypted leave encrypted, however its status is asked.
  header.is_msg_encrypted ||= wasEncrypted(row.response);
  const items = statusItems(row, parsed.lookup, ANSWER_LISTS[parsed.txnType]);
  const message = {
    transaction_id: parsed.transactionId,
    correlation_id: ctx.correlationId,
    txnstatus_response: { txn_type: parsed.txnType, txn_status: txnStatusOf(row, parsed.txnType, items) },
  };
  const recordCount = items.reduce((n, item) => n + (item.data?.reg_records.length ?? 0), 0);
  return { envelope: { header, message }, found: true, recordCount };
}

/**
 * No transaction of the client matches: the header says `rjct` with the reason, and the message
 * carries the reason code clients branch on. The header's codes (MsgHeaderStatusReasonCode) are
 * about the envelope and none means "not found"; txn_status is a search response whose items carry
 * a SearchStatusReasonCode. The status request's one item (its reference_id) is rejected with
 * `rjct.search_criteria.invalid`, the closest code: its criteria (attribute_type and value) name no
 * transaction of yours. Malformed criteria are refused before (HTTP 400, err.request.bad), so with
 * this answer the code means "not found". The ids are this request's own: nothing of another
 * client's transaction shows.
 */
function notFound(parsed: ParsedTxnStatus, ctx: TxnStatusContext): TxnStatusResult {
  const reason = `no ${parsed.txnType} transaction of yours matches this ${parsed.lookup.by}`;
  const { header } = rejectedEnvelope(parsed.header, ctx.receiver, 'txn-on-status', { message: reason });
  const ids = { transaction_id: parsed.transactionId, correlation_id: ctx.correlationId };
  const item: SearchResponseItem = {
    reference_id: parsed.referenceId,
    timestamp: header.message_ts,
    status: 'rjct',
    status_reason_code: 'rjct.search_criteria.invalid',
    status_reason_message: reason,
  };
  const txnstatus_response = { txn_type: parsed.txnType, txn_status: { ...ids, search_response: [item] } };
  return { envelope: { header, message: { ...ids, txnstatus_response } }, found: false, recordCount: 0 };
}

const wasEncrypted = (response: unknown): boolean =>
  (response as { header?: { is_msg_encrypted?: unknown } } | null)?.header?.is_msg_encrypted === true;

/**
 * The spec's txn_status has one form for every transaction: a SearchResponse (`search_response`
 * items). A subscription's items are given there by status (reference id, time, status, reason
 * message: the subscription reason codes are not among the search ones), and in full, with the
 * subscription codes, in `subscribe_response` (extra properties are allowed).
 */
function txnStatusOf(row: ExchangeRow, txnType: KeptTxnType, items: StatusItem[]) {
  const ids = { transaction_id: row.transaction_id, correlation_id: row.correlation_id };
  if (txnType === 'search') {
    return { ...ids, search_response: items };
  }
  const byStatus = items.map(({ reference_id, timestamp, status, status_reason_message }) => ({
    reference_id,
    timestamp,
    status,
    ...(status_reason_message ? { status_reason_message } : {}),
  }));
  return { ...ids, search_response: byStatus, subscribe_response: items };
}

type StatusItem = Pick<
  SearchResponseItem,
  'reference_id' | 'timestamp' | 'status' | 'status_reason_message' | 'data'
>;

/**
 * A transaction's items, as its own answer lists them (search_response, subscribe_response): the
 * items answered (records included for async searches, statuses only for sync ones), or, before an
 * answer exists, one item per reference id with the transaction's own status (pdng, rjct ...).
 */
function statusItems(row: ExchangeRow, lookup: TransactionLookup, list: string): StatusItem[] {
  const message = (row.response as { message?: Record<string, unknown> } | null)?.message;
  const answered = message?.[list] as StatusItem[] | undefined;
  const items =
    answered && answered.length > 0 ? answered : row.reference_ids.map((ref) => pendingItem(row, ref));
  const wanted = lookup.by === 'reference_id_list' ? new Set(lookup.value) : undefined;
  return wanted ? items.filter((item) => wanted.has(item.reference_id)) : items;
}

const pendingItem = (row: ExchangeRow, reference_id: string): SearchResponseItem => ({
  reference_id,
  timestamp: row.updated_at.toISOString(),
  status: row.status as DciStatus,
  ...(row.status_reason_message ? { status_reason_message: row.status_reason_message } : {}),
});
