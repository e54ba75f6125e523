import type { App } from '#platform/http/types';
import { SEARCH_JOB } from '../async/search-job.ts';
import { headerReason, rejectedEnvelope, type Envelope, type ResponseHeader } from '../envelope.ts';
import { duplicateReason, receive } from '../exchange/receive.ts';
import { recordWithAnswer } from '../exchange/store.ts';
import {
  answerSearch,
  ASYNC_SEARCH,
  ON_SEARCH,
  parseSearch,
  SYNC_SEARCH,
  type ParsedSearch,
  type SearchResponseMessage,
} from '../search.ts';
import { searchLookups } from '../lookups.ts';
import { dciAsyncPost, dciPost, distinctStrings, incoming, type RouteContext } from './kit.ts';

/** `/registry/sync/search` and async `/registry/search` (answered on the sender's `/registry/on-search`). */
export function searchRoutes(app: App, ctx: RouteContext): void {
  const { registry, receiver } = ctx;
  dciPost(
    app,
    ctx,
    {
      path: SYNC_SEARCH,
      audit: 'search',
      signature: 'sync',
      operationId: (r) => `search${r}Sync`,
      summary: 'sync search',
      description:
        'Each search_request item is answered with its own status; a malformed envelope gets HTTP 400 with err.request.bad; ' +
        'an answer holds at most SPX_DCI_SYNC_MAX_RECORDS records (1,000 by default) over all its items: an item whose page ' +
        'would pass it is rejected with rjct.search.too_many_records_found (ask smaller pages, or use the async search); ' +
        'a message id already used gets HTTP 409 with header status rjct.message_id.duplicate.',
      answers: {
        200: 'on-search envelope: the default response of the spec',
        400: 'HttpErrorResponse (err.*), or an on-search envelope rejected as a whole',
        409: 'on-search envelope rejected as a whole: rjct.message_id.duplicate',
      },
    },
    async (request, reply, principal) => {
      const parsed = parseSearch(request.body, { registry, path: SYNC_SEARCH }, receiver);
      // Answered first, then recorded once with its outcome, in the statement that writes the audit
      // entry (recordWithAnswer). A duplicate message id is found by that insert; its answer is then
      // discarded, and the 409 audited instead.
      const correlationId = receiver.newId();
      const result = await answerSearch(parsed, {
        ...ctx,
        principal,
        maxAnswerRecords: ctx.syncMaxRecords,
        correlationId,
        purpose: request.purpose,
        consentRequired: request.dciPolicy?.consentRequired,
      });
      const { header } = result.envelope;
      request.lookups = searchLookups(parsed.items, result.envelope.message?.search_response ?? []);
      request.auditNote = {
        recordCount: result.recordCount,
        subjectIds: result.subjectIds,
        ...(result.purpose ? { purpose: result.purpose } : {}),
        ...(result.transactionId ? { resourceId: result.transactionId } : {}),
      };
      // The spec's `default` response covers every status: a message rejected as a whole is a 400.
      const statusCode = result.rejected ? 400 : 200;
      const received = await receive(
        recordWithAnswer((alongside) => request.recordAnswer(statusCode, alongside)),
        incoming(ctx, request, principal, {
          header: parsed.header,
          transactionId: parsed.transactionId,
          ...described(parsed),
          operation: 'search',
          mode: 'sync',
        }),
        {
          status: result.rejected ? 'rjct' : 'succ',
          reason: headerReason(header),
          response: withoutRecords(result.envelope),
        },
        correlationId,
      );
      if (!received) {
        request.auditNote = undefined;
        const duplicate = duplicateReason(parsed.header.message_id);
        return reply.code(409).send(rejectedEnvelope(parsed.header, receiver, 'on-search', duplicate));
      }
      return reply.code(statusCode).send(result.envelope);
    },
  );
}

/** The async search; registered where errors are answered as ERR acknowledgements. */
export function asyncSearchRoute(app: App, ctx: RouteContext): void {
  const { registry, receiver } = ctx;
  dciAsyncPost(
    app,
    ctx,
    {
      path: ASYNC_SEARCH,
      audit: 'search.async',
      operationId: (r) => `search${r}Async`,
      summary: 'async search',
      description:
        'Validated like the sync search, then acknowledged (ACK with the correlation id of the answer); the answer ' +
        `is POSTed to header.sender_uri, or to the client's registered callback URI + ${ON_SEARCH}, inside the ` +
        "client's registered callback origins only. Refusals are ERR acknowledgements (HTTP 400, 409).",
    },
    {
      operation: 'search',
      parse: (body) => parseSearch(body, { registry, path: ASYNC_SEARCH }, receiver),
      describe: described,
      callbackPath: ON_SEARCH,
      job: SEARCH_JOB,
      lookups: (parsed) => searchLookups(parsed.items),
    },
  );
}

/** What a search asked, without its values: for the exchange record. */
function described(parsed: ParsedSearch) {
  const criteria = parsed.items.map((item) => item.search_criteria ?? {});
  return {
    referenceIds: parsed.items.map((item) => item.reference_id).filter((ref) => typeof ref === 'string'),
    summary: {
      items: parsed.items.length,
      query_types: distinctStrings(criteria.map((c) => c.query_type)),
      record_types: distinctStrings(criteria.map((c) => c.reg_record_type)),
    },
  };
}

/** A sync answer as kept for txn status: item statuses, not the records the caller already holds. */
function withoutRecords(envelope: Envelope<ResponseHeader, SearchResponseMessage>) {
  const { message } = envelope;
  return message
    ? {
        ...envelope,
        message: {
          ...message,
          search_response: message.search_response.map(({ data: _data, ...item }) => item),
        },
      }
    : envelope;
}
