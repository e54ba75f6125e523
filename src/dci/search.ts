import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import {
  checkHeader,
  responseHeader,
  type Envelope,
  type Receiver,
  type RequestHeader,
  type ResponseHeader,
} from './envelope.ts';
import { DciError, type HeaderReasonCode, type SearchReasonCode } from './errors.ts';
import type { SearchCriteria, SearchLimits } from './query/criteria.ts';
import type { DciRecord } from './records.ts';
import { answerItem, duplicateReferences, splitErrors } from './search-item.ts';
import { validateRequest, type Registry } from './spec.ts';

/**
 * The sync search of the DCI SR and IBR APIs (`POST /registry/sync/search`), free of HTTP: a parsed
 * message in, the response envelope out, or a DciError with a transport code when the message
 * cannot be processed at all. Each `search_request` item gets its own status: a bad item is
 * rejected with its reason code and the others are answered.
 */

export const SYNC_SEARCH = '/registry/sync/search';

export interface SearchContext {
  db: Kysely<DB>;
  registry: Registry;
  principal: Principal;
  limits: SearchLimits;
  /** Most `search_request` items one message may carry (`rjct.total_count.limit_exceeded`). */
  maxBatch: number;
  receiver: Receiver;
}

export interface SearchRequestItem {
  reference_id: string;
  timestamp: string;
  search_criteria: SearchCriteria;
  locale?: string;
}

interface SearchRequestMessage {
  transaction_id: string;
  search_request: SearchRequestItem[];
}

export interface SearchResponseItem {
  reference_id: string;
  timestamp: string;
  status: 'succ' | 'rjct';
  status_reason_code?: SearchReasonCode;
  status_reason_message?: string;
  data?: { version: string; reg_type: string; reg_record_type: string; reg_records: DciRecord[] };
  pagination?: { page_size: number; page_number: number; total_count: number };
  locale?: string;
}

export interface SearchResponseMessage {
  transaction_id: string;
  correlation_id: string;
  search_response: SearchResponseItem[];
}

export interface SearchResult {
  envelope: Envelope<ResponseHeader, SearchResponseMessage>;
  /** The whole message was rejected (header `status: rjct`). */
  rejected: boolean;
  /** Records returned over all items, for the audit trail. */
  recordCount: number;
  transactionId?: string | undefined;
}

/** Validates, then answers every item of a search message. */
export async function searchSync(body: unknown, ctx: SearchContext): Promise<SearchResult> {
  const { envelopeErrors, itemErrors } = splitErrors(
    validateRequest({ registry: ctx.registry, path: SYNC_SEARCH }, body),
  );
  if (envelopeErrors.length > 0) {
    throw new DciError(
      'err.request.bad',
      'the message does not conform to the DCI search request schema',
      envelopeErrors,
    );
  }
  const { header, message } = body as Envelope<RequestHeader, Partial<SearchRequestMessage>>;
  checkHeader(header, ctx.receiver);
  if (!message || !Array.isArray(message.search_request)) {
    throw new DciError(
      'err.encryption.invalid',
      'the message is encrypted but header.is_msg_encrypted is not true',
    );
  }
  const items = message.search_request;
  const transactionId = message.transaction_id ?? '';
  const rejection = headerRejection(header, items.length, ctx.maxBatch);
  if (rejection) {
    return reject(header, transactionId, rejection, ctx);
  }
  const duplicates = duplicateReferences(items);
  const search_response: SearchResponseItem[] = [];
  let recordCount = 0;
  for (const [index, item] of items.entries()) {
    const answer = await answerItem(item, itemErrors.get(index), duplicates, ctx);
    recordCount += answer.data?.reg_records.length ?? 0;
    search_response.push(answer);
  }
  const envelope = {
    header: responseHeader(header, ctx.receiver, {
      action: 'on-search',
      status: 'succ',
      total: items.length,
      completed: items.length,
    }),
    message: { transaction_id: transactionId, correlation_id: ctx.receiver.newId(), search_response },
  };
  return { envelope, rejected: false, recordCount, transactionId };
}

function headerRejection(
  header: RequestHeader,
  items: number,
  maxBatch: number,
): { code: HeaderReasonCode; message: string } | undefined {
  if (header.total_count !== items) {
    return {
      code: 'rjct.total_count.invalid',
      message: `header.total_count is ${header.total_count} but the message holds ${items} requests`,
    };
  }
  if (items > maxBatch) {
    return {
      code: 'rjct.total_count.limit_exceeded',
      message: `a message may hold at most ${maxBatch} search requests`,
    };
  }
  return undefined;
}

function reject(
  header: RequestHeader,
  transactionId: string,
  reason: { code: HeaderReasonCode; message: string },
  ctx: SearchContext,
): SearchResult {
  const envelope = {
    header: responseHeader(header, ctx.receiver, {
      action: 'on-search',
      status: 'rjct',
      total: header.total_count,
      completed: 0,
      reason,
    }),
    message: { transaction_id: transactionId, correlation_id: ctx.receiver.newId(), search_response: [] },
  };
  return { envelope, rejected: true, recordCount: 0, transactionId };
}
