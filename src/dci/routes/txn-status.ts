import type { App } from '#platform/http/types';
import { TXN_STATUS_JOB } from '../async/txn-status-job.ts';
import { rejectedEnvelope } from '../envelope.ts';
import { answering, duplicateReason, receive } from '../exchange/receive.ts';
import { finishExchange } from '../exchange/store.ts';
import {
  answerTxnStatus,
  ON_TXN_STATUS,
  parseTxnStatus,
  SYNC_TXN_STATUS,
  TXN_STATUS,
  type ParsedTxnStatus,
} from '../txn-status.ts';
import { dciAsyncPost, dciPost, incoming, type RouteContext } from './kit.ts';

const DESCRIPTION =
  "The transaction is looked up by transaction_id, correlation_id or reference ids among the caller's own " +
  "messages only; none found (or another client's) is answered with header status rjct and one rejected " +
  "item (the request's reference_id) with status_reason_code rjct.search_criteria.invalid.";

/** `/registry/sync/txn/status`. */
export function txnStatusRoutes(app: App, ctx: RouteContext): void {
  const { db, registry, receiver } = ctx;
  dciPost(
    app,
    ctx,
    {
      path: SYNC_TXN_STATUS,
      audit: 'txn_status',
      signature: 'sync',
      operationId: (r) => `get${r}TxnStatusSync`,
      summary: 'sync transaction status',
      description: `${DESCRIPTION} HTTP 404 then, 409 for a message id already used.`,
      answers: {
        200: 'txn-on-status envelope',
        400: 'HttpErrorResponse (err.*)',
        404: 'txn-on-status envelope with header status rjct, its item rjct.search_criteria.invalid: no such transaction of yours',
        409: 'txn-on-status envelope rejected as a whole: rjct.message_id.duplicate',
      },
    },
    async (request, reply, principal) => {
      const parsed = parseTxnStatus(request.body, { registry, path: SYNC_TXN_STATUS }, receiver);
      const received = await receive(
        ctx.recordExchange,
        incoming(ctx, request, principal, { ...described(parsed), operation: 'txn-status', mode: 'sync' }),
      );
      if (!received) {
        const duplicate = duplicateReason(parsed.header.message_id);
        return reply.code(409).send(rejectedEnvelope(parsed.header, receiver, 'txn-on-status', duplicate));
      }
      const result = await answering(db, received, () =>
        answerTxnStatus(parsed, {
          db,
          registry,
          clientId: principal.clientId,
          receiver,
          correlationId: received.correlationId,
        }),
      );
      // Answered, even when nothing was found (the message id stays used). The answer is not kept:
      // the caller holds it, and a status of a status cannot be asked.
      await finishExchange(db, received.id, { status: 'succ' });
      request.auditNote = { resourceId: parsed.transactionId, recordCount: result.recordCount };
      return reply.code(result.found ? 200 : 404).send(result.envelope);
    },
  );
}

/** Async `/registry/txn/status`, answered on `/registry/txn/on-status`; errors as ERR acknowledgements. */
export function asyncTxnStatusRoute(app: App, ctx: RouteContext): void {
  const { registry, receiver } = ctx;
  dciAsyncPost(
    app,
    ctx,
    {
      path: TXN_STATUS,
      audit: 'txn_status.async',
      operationId: (r) => `get${r}TxnStatusAsync`,
      summary: 'async transaction status',
      description: `${DESCRIPTION} Acknowledged at once; the answer is POSTed to ${ON_TXN_STATUS} like an async search's.`,
    },
    {
      operation: 'txn-status',
      parse: (body) => parseTxnStatus(body, { registry, path: TXN_STATUS }, receiver),
      describe: described,
      callbackPath: ON_TXN_STATUS,
      job: TXN_STATUS_JOB,
    },
  );
}

function described(parsed: ParsedTxnStatus) {
  return {
    header: parsed.header,
    transactionId: parsed.transactionId,
    referenceIds: [parsed.referenceId],
    summary: { txn_type: parsed.txnType, attribute_type: parsed.lookup.by },
  };
}
