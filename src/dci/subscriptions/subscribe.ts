import { credentialColumns } from '#security/stored-credential';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import type { FieldError } from '#platform/problem';
import { consentRequired } from '../consent.ts';
import {
  readEnvelope,
  rejectedEnvelope,
  timestamp,
  type Envelope,
  type Receiver,
  type RequestHeader,
  type ResponseHeader,
} from '../envelope.ts';
import { clipMessage, DciError, type SubscribeReasonCode } from '../errors.ts';
import { duplicateReferences } from '../search-item.ts';
import { validateRequest, type Operation, type Registry } from '../spec.ts';
import { planSubscription, type SubscribeCriteria, type SubscriptionPlan } from './criteria.ts';
import { answerHeader, countRejection, describeErrors, localeOf, splitItemErrors } from './messages.ts';
import { recordSubscriptions, type NewSubscription, type SubscriptionRow } from './queries.ts';

/**
 * `/registry/subscribe`, answered on `/registry/on-subscribe`, free of HTTP: parseSubscribe reads a
 * message (or throws a DciError with a transport code), answerSubscribe records the subscriptions
 * and returns the on-subscribe envelope. Like a search, each `subscribe_request` item gets its own
 * status: a bad item is rejected with its `SubscribeStatusReasonCode` and records nothing.
 */

export const SUBSCRIBE = '/registry/subscribe';
export const ON_SUBSCRIBE = '/registry/on-subscribe';
/** Where notifications go: the client's registered callback URI + this path. */
export const NOTIFY = '/registry/notify';

export interface SubscribeItem {
  reference_id: string;
  timestamp: string;
  subscribe_criteria: SubscribeCriteria;
  locale?: string;
}

export interface ParsedSubscribe {
  header: RequestHeader;
  transactionId: string;
  items: SubscribeItem[];
  itemErrors: Map<number, FieldError[]>;
}

/** Validates a subscribe message against the spec and checks its header; item errors are kept. */
export function parseSubscribe(body: unknown, operation: Operation, receiver: Receiver): ParsedSubscribe {
  const { envelopeErrors, itemErrors } = splitItemErrors(
    validateRequest(operation, body),
    'subscribe_request',
  );
  const { header, message } = readEnvelope<{ transaction_id: string; subscribe_request: SubscribeItem[] }>(
    body,
    envelopeErrors,
    'subscribe_request',
    receiver,
  );
  // An item that is not an object (a schema error kept for its answer) is read as an empty one.
  const items = message.subscribe_request.map((item) =>
    item !== null && typeof item === 'object' ? item : ({} as SubscribeItem),
  );
  return { header, transactionId: message.transaction_id, items, itemErrors };
}

export interface SubscribeContext {
  db: Kysely<DB>;
  registry: Registry;
  principal: Principal;
  receiver: Receiver;
  maxBatch: number;
  /** The subscribe message as recorded (dci_exchanges): its id, and the correlation id of the ACK. */
  exchange: { id: string; correlationId: string };
  /** <client callback URI>/registry/notify; undefined when the client has none registered now. */
  notifyUri: string | undefined;
}

export interface SubscriptionInfo {
  version: string;
  code: string;
  status: 'subscribe' | 'unsubscribe';
  timestamp: string;
  reg_type: string;
  reg_event_type: string;
  frequency?: unknown;
  filter_type: string;
  filter: unknown;
  notify_record_type: string;
  locale?: string;
}

interface SubscribeResponseItem {
  reference_id: string;
  timestamp: string;
  status: 'succ' | 'rjct';
  status_reason_code?: SubscribeReasonCode;
  status_reason_message?: string;
  subscriptions?: SubscriptionInfo[];
  locale?: string;
}

export interface SubscribeResult {
  envelope: Envelope<ResponseHeader, unknown>;
  rejected: boolean;
}

/**
 * Answers a subscribe message. Idempotent: run again for the same exchange (a retried job), it
 * finds the subscriptions the first run recorded and answers with them.
 */
export async function answerSubscribe(
  parsed: ParsedSubscribe,
  ctx: SubscribeContext,
): Promise<SubscribeResult> {
  const { header, items } = parsed;
  const rejection = countRejection(header, items.length, ctx.maxBatch, 'subscribe requests');
  if (rejection) {
    return {
      envelope: rejectedEnvelope(header, ctx.receiver, 'on-subscribe', rejection),
      rejected: true,
    };
  }
  const checked = await checkItems(parsed, ctx);
  const recorded = await recordSubscriptions(
    ctx.db,
    ctx.exchange.id,
    checked.flatMap((c) => (c.plan ? [newSubscription(c.item, c.plan, header.sender_id, ctx)] : [])),
  );
  const subscribe_response = checked.map((c) => responseItem(c, recorded.get(c.item.reference_id), ctx));
  return {
    envelope: {
      header: answerHeader(header, ctx.receiver, {
        action: 'on-subscribe',
        total: items.length,
        completed: items.length,
      }),
      message: {
        transaction_id: parsed.transactionId,
        correlation_id: ctx.exchange.correlationId,
        subscribe_response,
      },
    },
    rejected: false,
  };
}

interface CheckedItem {
  item: SubscribeItem;
  plan?: SubscriptionPlan;
  rejection?: { code: SubscribeReasonCode; message: string };
}

/** Each item's plan, or the reason it is rejected (schema errors, a duplicate reference, its criteria). */
async function checkItems(parsed: ParsedSubscribe, ctx: SubscribeContext): Promise<CheckedItem[]> {
  const duplicates = duplicateReferences(parsed.items);
  const options = {
    now: ctx.receiver.now(),
    consentRequired: await consentRequired(ctx.db, ctx.principal.clientId),
  };
  return parsed.items.map((item, index): CheckedItem => {
    const errors = parsed.itemErrors.get(index);
    if (errors) {
      return { item, rejection: { code: reasonFor(errors), message: clipMessage(describeErrors(errors)) } };
    }
    if (duplicates.has(item.reference_id)) {
      const message = `reference_id ${item.reference_id} is used more than once in this message`;
      return { item, rejection: { code: 'rjct.reference_id.duplicate', message } };
    }
    if (ctx.notifyUri === undefined) {
      const message = `notifications go to the client's registered callback URI + ${NOTIFY}; none is registered`;
      return { item, rejection: { code: 'rjct.notify_details.invalid', message } };
    }
    try {
      return { item, plan: planSubscription(item.subscribe_criteria, ctx.registry, ctx.principal, options) };
    } catch (error) {
      if (error instanceof DciError && error.code.startsWith('rjct.')) {
        return {
          item,
          rejection: { code: error.code as SubscribeReasonCode, message: clipMessage(error.message) },
        };
      }
      throw error;
    }
  });
}

/** The reason code for schema errors inside an item, by where the first of them lies. */
function reasonFor(errors: FieldError[]): SubscribeReasonCode {
  const at = (prefix: string) =>
    errors.some((e) => e.pointer === prefix || e.pointer.startsWith(`${prefix}/`));
  if (at('/reference_id')) {
    return 'rjct.reference_id.invalid';
  }
  if (at('/timestamp')) {
    return 'rjct.timestamp.invalid';
  }
  if (at('/subscribe_criteria/reg_event_type') || at('/subscribe_criteria/notify_record_type')) {
    return 'rjct.notify_types.invalid';
  }
  return 'rjct.notify_details.invalid';
}

const newSubscription = (
  item: SubscribeItem,
  plan: SubscriptionPlan,
  senderId: string,
  ctx: SubscribeContext,
): NewSubscription => ({
  id: randomUUID(),
  code: randomUUID(),
  clientId: ctx.principal.clientId,
  credential: credentialColumns(ctx.principal),
  registry: ctx.registry,
  exchangeId: ctx.exchange.id,
  referenceId: item.reference_id,
  plan,
  locale: localeOf(item.locale).locale,
  senderId,
  notifyUri: ctx.notifyUri!,
});

function responseItem(
  checked: CheckedItem,
  row: SubscriptionRow | undefined,
  ctx: SubscribeContext,
): SubscribeResponseItem {
  const base = {
    reference_id: typeof checked.item.reference_id === 'string' ? checked.item.reference_id : '',
    timestamp: timestamp(ctx.receiver),
    ...localeOf(checked.item.locale),
  };
  if (checked.rejection) {
    return {
      ...base,
      status: 'rjct',
      status_reason_code: checked.rejection.code,
      status_reason_message: checked.rejection.message,
    };
  }
  if (!row) {
    return {
      ...base,
      status: 'rjct',
      status_reason_code: 'rjct.event.already_subscribed',
      status_reason_message: 'you already have an active subscription with these criteria',
    };
  }
  return { ...base, status: 'succ', subscriptions: [subscriptionInfo(row)] };
}

/** A subscription as the spec's `SubscriptionInfo`. */
export function subscriptionInfo(row: SubscriptionRow): SubscriptionInfo {
  return {
    version: '1.0.0',
    code: row.code,
    status: row.status === 'active' ? 'subscribe' : 'unsubscribe',
    timestamp: row.created_at.toISOString(),
    reg_type: row.reg_type,
    reg_event_type: row.reg_event_type,
    ...(row.frequency ? { frequency: row.frequency } : {}),
    filter_type: row.filter_type,
    filter: row.filter,
    notify_record_type: row.notify_record_type,
    ...localeOf(row.locale),
  };
}
