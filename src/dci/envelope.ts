import { randomUUID } from 'node:crypto';
import type { FieldError } from '#platform/problem';
import { PROTOCOL_VERSION, type Envelope, type RequestHeader, type ResponseHeader } from '@spx/dci-client';
import { DciError, type DciStatus, type HeaderReasonCode } from './errors.ts';

/**
 * The gateway's side of the DCI envelope: reading requests, writing answers. The envelope's types
 * are the DCI client package's (shared with integrators), re-exported here for the DCI core.
 */
export {
  isEnvelope,
  PROTOCOL_VERSION,
  type Envelope,
  type RequestHeader,
  type ResponseHeader,
} from '@spx/dci-client';

/** What the receiving side of an exchange knows about itself. */
export interface Receiver {
  /** Our id as registered with the callers (`receiver_id` of requests, `sender_id` of responses). */
  id?: string | undefined;
  now: () => Date;
  newId: () => string;
}

export const defaultReceiver = (id?: string): Receiver => ({ id, now: () => new Date(), newId: randomUUID });

/** Our `sender_id` (and the first part of our signatures' kid) when no receiver id is configured. */
export const DEFAULT_SENDER_ID = 'spx';

/** Our id in the messages we send: the configured receiver id, else DEFAULT_SENDER_ID. */
export const senderIdOf = (receiver: Pick<Receiver, 'id'>): string => receiver.id ?? DEFAULT_SENDER_ID;

/** ISO 8601 with offset, as `SubscriptionInfo.timestamp` (format date-time) requires. */
export const timestamp = (receiver: Receiver): string => receiver.now().toISOString();

/**
 * Transport checks the schema cannot make. They raise `err.*`: the message cannot be processed at
 * all, so there is no envelope to answer with (spec `Error.code`). An encrypted message
 * (`is_msg_encrypted: true`) reaches the core decrypted (encryption/service.ts, before validation).
 */
export function checkHeader(header: RequestHeader, receiver: Receiver): void {
  if (header.version !== undefined && header.version !== PROTOCOL_VERSION) {
    throw new DciError(
      'err.version.not_supported',
      `version ${header.version} is not supported; use ${PROTOCOL_VERSION}`,
    );
  }
  if (receiver.id !== undefined && header.receiver_id !== undefined && header.receiver_id !== receiver.id) {
    throw new DciError(
      'err.receiver_id.invalid',
      `this registry is ${receiver.id}, not ${header.receiver_id}`,
    );
  }
}

/** How old, and how far in the future, a request's `header.message_ts` may be. */
export interface MessageTimeWindow {
  maxAgeSeconds: number;
  skewSeconds: number;
}

export const DEFAULT_MESSAGE_TIME_WINDOW: MessageTimeWindow = { maxAgeSeconds: 86_400, skewSeconds: 300 };

/**
 * Refuses a message whose `message_ts` lies outside the window: spec MsgHeaderStatusReasonCode
 * `rjct.message_ts.invalid`. It is checked once, when the message arrives (the DCI POST routes,
 * src/dci/routes/kit.ts), before it is recorded, so it does not use up the message id; the answer has
 * no header to carry the code (an HttpErrorResponse, or an ERR ack on the async endpoints), so the
 * code leads the message, as for a duplicate message id, with HTTP 400. A message_ts that is not a
 * date is left to the schema validation (err.request.bad).
 */
export function checkMessageTime(
  header: { message_ts?: unknown },
  now: Date,
  window: MessageTimeWindow,
): void {
  const sent = typeof header.message_ts === 'string' ? Date.parse(header.message_ts) : NaN;
  if (Number.isNaN(sent)) {
    return;
  }
  const ageSeconds = Math.round((now.getTime() - sent) / 1000);
  const problem =
    ageSeconds > window.maxAgeSeconds
      ? `is ${ageSeconds} s old; messages older than ${window.maxAgeSeconds} s are refused`
      : -ageSeconds > window.skewSeconds
        ? `lies ${-ageSeconds} s in the future; at most ${window.skewSeconds} s are tolerated`
        : undefined;
  if (problem) {
    const code = 'rjct.message_ts.invalid';
    throw new DciError(code, `${code}: header.message_ts ${problem}`, undefined, 400);
  }
}

interface Outcome {
  action: string;
  status: DciStatus;
  total: number;
  completed: number;
  reason?: { code: HeaderReasonCode; message: string };
}

/** The response header answering `request`: a new message id, addressed back to the sender. */
export function responseHeader(request: RequestHeader, receiver: Receiver, outcome: Outcome): ResponseHeader {
  return {
    version: PROTOCOL_VERSION,
    message_id: receiver.newId(),
    message_ts: timestamp(receiver),
    action: outcome.action,
    status: outcome.status,
    ...(outcome.reason
      ? { status_reason_code: outcome.reason.code, status_reason_message: outcome.reason.message }
      : {}),
    total_count: outcome.total,
    completed_count: outcome.completed,
    // Named always, so that the kid of our signature (`<sender_id>|...`) matches the header.
    sender_id: senderIdOf(receiver),
    receiver_id: request.sender_id,
    // The answer to an encrypted message leaves encrypted: the flag is what the sealing step
    // (encryption/service.ts) reads, and it encrypts the message on the way out.
    is_msg_encrypted: request.is_msg_encrypted === true,
  };
}

/**
 * A request envelope after schema validation: `errors` are the schema errors that concern the
 * envelope (err.request.bad), then the header checks. `key` is the property that tells a plain
 * message from an EncryptedMessage (both are allowed by the spec's `oneOf`).
 */
export function readEnvelope<M extends object>(
  body: unknown,
  errors: FieldError[],
  key: keyof M & string,
  receiver: Receiver,
): { header: RequestHeader; message: M } {
  if (errors.length > 0) {
    throw new DciError('err.request.bad', 'the message does not conform to the DCI request schema', errors);
  }
  const { header, message } = body as Envelope<RequestHeader, Partial<M>>;
  checkHeader(header, receiver);
  if (message === undefined) {
    throw new DciError('err.request.bad', 'the message is missing', [
      { pointer: '/message', detail: 'is required' },
    ]);
  }
  if (message[key] === undefined) {
    throw new DciError(
      'err.encryption.invalid',
      'the message is encrypted but header.is_msg_encrypted is not true',
    );
  }
  return { header, message: message as M };
}

/** A response envelope rejecting the whole message (header `status: rjct`), without a message. */
export function rejectedEnvelope(
  request: RequestHeader,
  receiver: Receiver,
  action: string,
  reason: { code?: HeaderReasonCode | undefined; message: string },
): Envelope<ResponseHeader, never> {
  const header = responseHeader(request, receiver, {
    action,
    status: 'rjct',
    total: request.total_count,
    completed: 0,
  });
  return {
    header: {
      ...header,
      ...(reason.code ? { status_reason_code: reason.code } : {}),
      status_reason_message: reason.message,
    },
  };
}

/** Why a response header rejected its message, as an exchange record keeps it (none when it did not). */
export const headerReason = (
  header: ResponseHeader,
): { code?: HeaderReasonCode | undefined; message: string } | undefined =>
  header.status_reason_message
    ? { code: header.status_reason_code, message: header.status_reason_message }
    : undefined;
