import type { FieldError } from '#platform/problem';
import {
  PROTOCOL_VERSION,
  responseHeader,
  senderIdOf,
  timestamp,
  type Receiver,
  type RequestHeader,
  type ResponseHeader,
} from '../envelope.ts';
import type { DciStatus } from '../errors.ts';

/** What the subscription messages share: their headers and the split of schema errors per item. */

/**
 * The header of on-subscribe and on-unsubscribe. The spec gives these callbacks the request header
 * (`MsgHeader_V1.0.0`: sender_id and total_count required) where on-search has the callback header;
 * responseHeader's is both: the callback header's status and counts, and always our sender_id.
 */
export const answerHeader = (
  request: RequestHeader,
  receiver: Receiver,
  outcome: { action: string; total: number; completed: number },
): ResponseHeader => responseHeader(request, receiver, { ...outcome, status: 'succ' });

/** The header of a notification (`MsgCallbackHeader_V1.0.0`, action notify), with its fixed message id. */
export function notifyHeader(messageId: string, receiver: Receiver, subscriberId: string) {
  return {
    version: PROTOCOL_VERSION,
    message_id: messageId,
    message_ts: timestamp(receiver),
    action: 'notify',
    status: 'succ' as DciStatus,
    total_count: 1,
    completed_count: 1,
    sender_id: senderIdOf(receiver),
    receiver_id: subscriberId,
    is_msg_encrypted: false,
  };
}

/** Schema errors inside one item of `list` reject that item only; the others concern the envelope. */
export function splitItemErrors(errors: FieldError[], list: string) {
  const envelopeErrors: FieldError[] = [];
  const itemErrors = new Map<number, FieldError[]>();
  const pattern = new RegExp(`^/message/${list}/(\\d+)(/.*)?$`);
  for (const error of errors) {
    const match = pattern.exec(error.pointer);
    if (match) {
      const index = Number(match[1]);
      const detail = { pointer: match[2] ?? '/', detail: error.detail };
      itemErrors.set(index, [...(itemErrors.get(index) ?? []), detail]);
    } else {
      envelopeErrors.push(error);
    }
  }
  return { envelopeErrors, itemErrors };
}

/** The first schema errors of an item, as one reason message. */
export const describeErrors = (errors: FieldError[]): string =>
  errors
    .slice(0, 3)
    .map((e) => `${e.pointer} ${e.detail}`)
    .join('; ');

/** A header count that does not match the message, or a message past the batch limit. */
export function countRejection(header: RequestHeader, items: number, maxBatch: number, what: string) {
  if (header.total_count !== items) {
    return {
      code: 'rjct.total_count.invalid' as const,
      message: `header.total_count is ${header.total_count} but the message holds ${items} ${what}`,
    };
  }
  if (items > maxBatch) {
    return {
      code: 'rjct.total_count.limit_exceeded' as const,
      message: `a message may hold at most ${maxBatch} ${what}`,
    };
  }
  return undefined;
}

/** The request's locale, echoed when it is ISO 639-3 as the response schema requires. */
export const localeOf = (locale: unknown): { locale?: string } =>
  typeof locale === 'string' && /^[a-z]{3}$/.test(locale) ? { locale } : {};
