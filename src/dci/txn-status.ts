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
import type { SearchResponseItem, SearchResponseMessage } from './search.ts';
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

/** Answers a txn status message: the status of the client's own transaction, or `rjct` if none. */
export async function answerTxnStatus(
  parsed: ParsedTxnStatus,
  ctx: TxnStatusContext,
): Promise<TxnStatusResult> {
  // Only searches are recorded as transactions so far: subscriptions and receipts come later.
  const row =
    parsed.txnType === 'search'
      ? await findOwnExchange(
          ctx.db,
          { clientId: ctx.clientId, registry: ctx.registry, operation: 'search' },
          parsed.lookup,
        )
      : undefined;
  if (!row) {
    return {
      envelope: rejectedEnvelope(parsed.header, ctx.receiver, 'txn-on-status', {
        message: `no ${parsed.txnType} transaction of yours matches this ${parsed.lookup.by}`,
      }),
      found: false,
      recordCount: 0,
    };
  }
  const header = responseHeader(parsed.header, ctx.receiver, {
    action: 'txn-on-status',
    status: 'succ',
    total: 1,
    completed: 1,
  });
  const txnStatus = searchStatus(row, parsed.lookup);
  const message = {
    transaction_id: parsed.transactionId,
    correlation_id: ctx.correlationId,
    txnstatus_response: { txn_type: parsed.txnType, txn_status: txnStatus },
  };
  const recordCount = txnStatus.search_response.reduce(
    (n, item) => n + (item.data?.reg_records.length ?? 0),
    0,
  );
  return { envelope: { header, message }, found: true, recordCount };
}

/**
 * A search transaction's status as the spec's SearchResponse: the items answered (records included
 * for async searches, statuses only for sync ones), or, before an answer exists, one item per
 * reference id with the transaction's own status (pdng, rjct ...).
 */
function searchStatus(row: ExchangeRow, lookup: TransactionLookup): SearchResponseMessage {
  const answered = (row.response as { message?: Partial<SearchResponseMessage> } | null)?.message
    ?.search_response;
  const items: SearchResponseItem[] =
    answered && answered.length > 0 ? answered : row.reference_ids.map((ref) => pendingItem(row, ref));
  const wanted = lookup.by === 'reference_id_list' ? new Set(lookup.value) : undefined;
  return {
    transaction_id: row.transaction_id,
    correlation_id: row.correlation_id,
    search_response: wanted ? items.filter((item) => wanted.has(item.reference_id)) : items,
  };
}

const pendingItem = (row: ExchangeRow, reference_id: string): SearchResponseItem => ({
  reference_id,
  timestamp: row.updated_at.toISOString(),
  status: row.status as DciStatus,
  ...(row.status_reason_message ? { status_reason_message: row.status_reason_message } : {}),
});
