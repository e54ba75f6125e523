import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { recordAudit } from '#platform/audit/audit-log';
import type { Principal } from '#platform/auth/principal';
import { defineJobKind, type JobContext, type JobKind, type JobOutcome } from '#platform/jobs/queue';
import { deliver, type DeliveryDeps } from '../callback/deliver.ts';
import type { Envelope, ResponseHeader } from '../envelope.ts';
import type { HeaderReasonCode } from '../errors.ts';
import { ensureDelivery } from '../exchange/deliveries.ts';
import { principalOf } from '../exchange/receive.ts';
import { findExchange, finishExchange, type ExchangeRow } from '../exchange/store.ts';

/**
 * The job that answers an async DCI message and delivers the answer to the client's callback.
 * Idempotent steps, so that a retry resumes where the last attempt stopped: answer once (the answer
 * is stored), create the delivery once (its message id is fixed then), deliver until delivered,
 * refused or dead. Only the exchange id travels in the payload: no personal data in the queue.
 */

export const ExchangePayload = Type.Object(
  { exchangeId: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
  { additionalProperties: false },
);

export interface Answer {
  envelope: Envelope<ResponseHeader, unknown>;
  rejected: boolean;
  /** Records in the answer, for the audit trail, with their ids and the purpose stated. */
  recordCount: number;
  subjectIds?: string[] | undefined;
  purpose?: string | undefined;
  reason?: { code?: HeaderReasonCode | undefined; message: string } | undefined;
}

export interface ExchangeJobSpec {
  name: string;
  /** Audit action after `dci.<registry>.`, e.g. `search.answered`. */
  audit: string;
  /** The callback action, e.g. `on-search` (also the header action of the envelope). */
  callbackAction: string;
  answer(exchange: ExchangeRow, principal: Principal): Promise<Answer>;
}

export interface RetryPolicy {
  /** Retries after the first attempt; the delivery is dead after the last one. */
  retryLimit: number;
  /** First delay; doubled at each retry, with jitter (pg-boss retryBackoff). */
  retryDelaySeconds: number;
}

export function defineExchangeJob(
  spec: ExchangeJobSpec,
  retry: RetryPolicy,
  deps: DeliveryDeps,
): JobKind<typeof ExchangePayload> {
  return defineJobKind({
    name: spec.name,
    payload: ExchangePayload,
    ...retry,
    retryBackoff: true,
    // Concurrent answers: one slow callback does not hold up the others.
    concurrency: 4,
    async run({ exchangeId }, ctx): Promise<JobOutcome> {
      const exchange = await findExchange(deps.db, exchangeId);
      if (!exchange) {
        return { status: 'skipped', reason: 'the exchange no longer exists' };
      }
      const envelope = exchange.response ?? (await answerOnce(spec, exchange, deps));
      if (envelope === undefined) {
        return { status: 'skipped', reason: 'the client or its key may no longer be used' };
      }
      // The envelope's message id is the delivery's: the same on every attempt.
      const delivery = await ensureDelivery(deps.db, {
        id: randomUUID(),
        exchangeId: exchange.id,
        clientId: exchange.client_id,
        action: spec.callbackAction,
        messageId: (envelope as Envelope<ResponseHeader, unknown>).header.message_id,
        callbackUri: exchange.callback_uri!,
      });
      const outcome = await deliver(delivery, envelope, attemptOf(ctx, retry), deps);
      return outcome === 'delivered'
        ? { status: 'done', result: { delivery: delivery.id } }
        : { status: 'skipped', reason: `delivery ${outcome}` };
    },
  });
}

/** Answers the message and stores the answer; undefined (and the exchange rejected) without a principal. */
async function answerOnce(
  spec: ExchangeJobSpec,
  exchange: ExchangeRow,
  deps: DeliveryDeps,
): Promise<unknown> {
  const principal = await principalOf(deps.db, exchange);
  if (!principal) {
    await finishExchange(deps.db, exchange.id, {
      status: 'rjct',
      reason: { message: 'the client was disabled or its key revoked before the answer' },
    });
    return undefined;
  }
  const answer = await spec.answer(exchange, principal);
  await finishExchange(deps.db, exchange.id, {
    status: answer.rejected ? 'rjct' : 'succ',
    reason: answer.reason,
    response: answer.envelope,
  });
  // The records leave now, without a request of the client's to audit them: the job does.
  await recordAudit(deps.db, {
    requestId: exchange.request_id ?? undefined,
    clientId: principal.clientId,
    clientName: principal.clientName,
    action: `dci.${exchange.registry}.${spec.audit}`,
    resourceType: 'dci_transaction',
    resourceId: exchange.transaction_id,
    recordCount: answer.recordCount,
    subjectIds: answer.subjectIds,
    purpose: answer.purpose,
    outcome: answer.rejected ? 'invalid' : 'success',
  });
  return answer.envelope;
}

const attemptOf = (ctx: JobContext, retry: RetryPolicy) => ({
  attempt: ctx.attempt,
  last: ctx.attempt > retry.retryLimit,
  signal: ctx.signal,
  requestId: ctx.requestId,
});
