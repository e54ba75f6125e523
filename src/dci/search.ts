import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import type {
  SearchResponseItem as DciSearchResponseItem,
  SearchResponseMessage as DciSearchResponseMessage,
} from '@spx/dci-client';
import type { FieldError } from '#platform/problem';
import {
  readEnvelope,
  responseHeader,
  type Envelope,
  type Receiver,
  type RequestHeader,
  type ResponseHeader,
} from './envelope.ts';
import type { HeaderReasonCode } from './errors.ts';
import type { SearchCriteria, SearchLimits } from './query/criteria.ts';
import { consentRequired } from './consent.ts';
import type { DciRecord } from './records.ts';
import { answerItem, duplicateReferences, splitErrors } from './search-item.ts';
import { validateRequest, type Operation, type Registry } from './spec.ts';

/**
 * The search of the DCI SR and IBR APIs, free of HTTP: the sync route (`POST /registry/sync/search`)
 * and the async job (`POST /registry/search`, answered on `/registry/on-search`) both call
 * parseSearch (a message in, or a DciError with a transport code when it cannot be processed at
 * all) and answerSearch (the response envelope out). Each `search_request` item gets its own
 * status: a bad item is rejected with its reason code and the others are answered.
 */

export const SYNC_SEARCH = '/registry/sync/search';
/** The async search, answered on the sender's `/registry/on-search`. */
export const ASYNC_SEARCH = '/registry/search';
export const ON_SEARCH = '/registry/on-search';

export interface SearchContext {
  db: Kysely<DB>;
  registry: Registry;
  principal: Principal;
  limits: SearchLimits;
  /** Most `search_request` items one message may carry (`rjct.total_count.limit_exceeded`). */
  maxBatch: number;
  /**
   * Sync answers: the most records the whole answer may hold, over all its items. An item whose page
   * would pass it is rejected, pointing to smaller pages or the async search (which has no such bound).
   */
  maxAnswerRecords?: number | undefined;
  receiver: Receiver;
  /** The correlation id announced in the ACK of an async search. */
  correlationId?: string | undefined;
  /** The purpose the caller declared outside the message (X-Purpose), for items that state none. */
  purpose?: string | undefined;
  /** Records only with their subjects' consent; read from the client's settings when not given. */
  consentRequired?: boolean | undefined;
}

/** Most `search_request` items per message, unless the routes are told otherwise. */
export const DEFAULT_MAX_BATCH = 20;

/** Most records of one sync search answer, unless the routes are told otherwise (SPX_DCI_SYNC_MAX_RECORDS). */
export const DEFAULT_SYNC_MAX_RECORDS = 1000;

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

/** The answer's types are the DCI client package's, with our records. */
export type SearchResponseItem = DciSearchResponseItem<DciRecord>;
export type SearchResponseMessage = DciSearchResponseMessage<DciRecord>;

export interface SearchResult {
  envelope: Envelope<ResponseHeader, SearchResponseMessage>;
  /** The whole message was rejected (header `status: rjct`). */
  rejected: boolean;
  /** Records returned over all items, for the audit trail. */
  recordCount: number;
  /** Their ids, and the purposes the items stated, for the audit trail. */
  subjectIds: string[];
  purpose?: string | undefined;
  transactionId?: string | undefined;
}

/** A search message whose envelope and header passed, with the schema errors of its items. */
export interface ParsedSearch {
  header: RequestHeader;
  transactionId: string;
  items: SearchRequestItem[];
  itemErrors: Map<number, FieldError[]>;
}

/**
 * Validates a search message against the operation's request schema (sync `/registry/sync/search`
 * or async `/registry/search`: the same message) and checks its header. Throws a DciError with a
 * transport code when the message cannot be processed at all; item errors are kept for the answer.
 */
export function parseSearch(body: unknown, operation: Operation, receiver: Receiver): ParsedSearch {
  const { envelopeErrors, itemErrors } = splitErrors(validateRequest(operation, body));
  const { header, message } = readEnvelope<SearchRequestMessage>(
    body,
    envelopeErrors,
    'search_request',
    receiver,
  );
  return { header, transactionId: message.transaction_id ?? '', items: message.search_request, itemErrors };
}

/** Answers every item of a parsed search message (a header rejection answers none). */
export async function answerSearch(parsed: ParsedSearch, ctx: SearchContext): Promise<SearchResult> {
  const { header, items, transactionId } = parsed;
  const rejection = headerRejection(header, items.length, ctx.maxBatch);
  if (rejection) {
    return reject(header, transactionId, rejection, ctx);
  }
  const duplicates = duplicateReferences(items);
  const consent = {
    ...ctx,
    consentRequired: ctx.consentRequired ?? (await consentRequired(ctx.db, ctx.principal.clientId)),
  };
  const search_response: SearchResponseItem[] = [];
  const subjectIds: string[] = [];
  const purposes = new Set<string>();
  for (const [index, item] of items.entries()) {
    const answer = await answerItem(
      item,
      parsed.itemErrors.get(index),
      duplicates,
      consent,
      subjectIds.length,
    );
    search_response.push(answer.item);
    subjectIds.push(...answer.subjectIds);
    if (answer.purpose !== undefined) {
      purposes.add(answer.purpose);
    }
  }
  const envelope = {
    header: responseHeader(header, ctx.receiver, {
      action: 'on-search',
      status: 'succ',
      total: items.length,
      completed: items.length,
    }),
    message: { transaction_id: transactionId, correlation_id: correlationOf(ctx), search_response },
  };
  return {
    envelope,
    rejected: false,
    recordCount: subjectIds.length,
    subjectIds,
    purpose: purposes.size > 0 ? [...purposes].join(',') : undefined,
    transactionId,
  };
}

/** The correlation id of the answer: the one the ACK announced (async), or a new one. */
const correlationOf = (ctx: SearchContext) => ctx.correlationId ?? ctx.receiver.newId();

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
    message: { transaction_id: transactionId, correlation_id: correlationOf(ctx), search_response: [] },
  };
  return { envelope, rejected: true, recordCount: 0, subjectIds: [], transactionId };
}
