import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import {
  readEnvelope,
  rejectedEnvelope,
  timestamp,
  type Envelope,
  type Receiver,
  type RequestHeader,
  type ResponseHeader,
} from '../envelope.ts';
import type { DciStatus, UnsubscribeReasonCode } from '../errors.ts';
import { validateRequest, type Operation, type Registry } from '../spec.ts';
import { answerHeader } from './messages.ts';
import { endSubscriptions, ownSubscriptions } from './queries.ts';

/**
 * `/registry/unsubscribe`, answered on `/registry/on-unsubscribe`, free of HTTP. A client ends its
 * own subscriptions only: a code that is not one of its subscriptions on this registry, another
 * client's included, is `rjct.subscription_code.invalid`, exactly like a code that never existed.
 * The spec's answer has one status for the whole message, so the message is all or nothing: one
 * bad code and no subscription is ended.
 */

export const UNSUBSCRIBE = '/registry/unsubscribe';
export const ON_UNSUBSCRIBE = '/registry/on-unsubscribe';

/** Most codes one unsubscribe message may name. */
const MAX_CODES = 100;

export interface ParsedUnsubscribe {
  header: RequestHeader;
  transactionId: string;
  codes: string[];
}

/** Validates an unsubscribe message against the spec and checks its header. */
export function parseUnsubscribe(body: unknown, operation: Operation, receiver: Receiver): ParsedUnsubscribe {
  const { header, message } = readEnvelope<{ transaction_id: string; subscription_codes: string[] }>(
    body,
    validateRequest(operation, body),
    'subscription_codes',
    receiver,
  );
  return { header, transactionId: message.transaction_id, codes: message.subscription_codes };
}

export interface UnsubscribeContext {
  db: Kysely<DB>;
  registry: Registry;
  clientId: string;
  receiver: Receiver;
  exchange: { id: string; correlationId: string };
}

interface UnsubscribeResponse {
  transaction_id: string;
  correlation_id: string;
  timestamp: string;
  status: DciStatus;
  status_reason_code?: UnsubscribeReasonCode;
  status_reason_message?: string;
  subscription_status?: { code: string; status: 'subscribe' | 'unsubscribe' }[];
}

export interface UnsubscribeResult {
  envelope: Envelope<ResponseHeader, unknown>;
  rejected: boolean;
}

/** Ends the client's subscriptions named, or none. Idempotent for a retried job of the same message. */
export async function answerUnsubscribe(
  parsed: ParsedUnsubscribe,
  ctx: UnsubscribeContext,
): Promise<UnsubscribeResult> {
  const { header } = parsed;
  const codes = [...new Set(parsed.codes)];
  // The spec does not say what total_count counts here (the message, or its codes): not checked.
  const rejection =
    codes.length > MAX_CODES
      ? {
          code: 'rjct.total_count.limit_exceeded' as const,
          message: `name at most ${MAX_CODES} subscription codes`,
        }
      : undefined;
  if (rejection) {
    return {
      envelope: rejectedEnvelope(header, ctx.receiver, 'on-unsubscribe', rejection),
      rejected: true,
    };
  }
  const rows = codes.length
    ? await ownSubscriptions(ctx.db, { clientId: ctx.clientId, registry: ctx.registry }, codes)
    : [];
  const byCode = new Map(rows.map((row) => [row.code, row]));
  const unknown = codes.filter((code) => !byCode.has(code));
  // Ended by this very message: a retried job finds them so, and answers as the first run did.
  const ended = rows.filter((row) => row.status !== 'active' && row.end_exchange_id !== ctx.exchange.id);
  const base = {
    transaction_id: parsed.transactionId,
    correlation_id: ctx.exchange.correlationId,
    timestamp: timestamp(ctx.receiver),
  };
  let message: UnsubscribeResponse;
  if (codes.length === 0) {
    message = {
      ...base,
      status: 'rjct',
      status_reason_code: 'rjct.subscription_code.invalid',
      status_reason_message: 'subscription_codes is empty: name the subscriptions to end',
    };
  } else if (unknown.length > 0) {
    message = {
      ...base,
      status: 'rjct',
      status_reason_code: 'rjct.subscription_code.invalid',
      status_reason_message: `not a subscription of yours on this registry: ${list(unknown)}; nothing was unsubscribed`,
    };
  } else if (ended.length > 0) {
    message = {
      ...base,
      status: 'rjct',
      status_reason_code: 'rjct.event.already_unsubscribed',
      status_reason_message: `already unsubscribed: ${list(ended.map((row) => row.code))}; nothing was unsubscribed`,
    };
  } else {
    await endSubscriptions(
      ctx.db,
      rows.map((row) => row.id),
      ctx.exchange.id,
    );
    message = {
      ...base,
      status: 'succ',
      subscription_status: codes.map((code) => ({ code, status: 'unsubscribe' })),
    };
  }
  return {
    envelope: {
      header: answerHeader(header, ctx.receiver, { action: 'on-unsubscribe', total: 1, completed: 1 }),
      message,
    },
    rejected: message.status === 'rjct',
  };
}

const list = (codes: string[]) => {
  const shown = codes.slice(0, 10).map((code) => (code.length > 60 ? `${code.slice(0, 60)}...` : code));
  return `${shown.join(', ')}${codes.length > shown.length ? ` and ${codes.length - shown.length} more` : ''}`;
};
