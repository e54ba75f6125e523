import type { App } from '#platform/http/types';
import { acceptAsync } from '../async/accept.ts';
import { SUBSCRIBE_JOB } from '../async/subscribe-job.ts';
import { UNSUBSCRIBE_JOB } from '../async/unsubscribe-job.ts';
import { callbackTarget, findCallbackSettings } from '../callback/policy.ts';
import {
  NOTIFY,
  ON_SUBSCRIBE,
  parseSubscribe,
  SUBSCRIBE,
  type ParsedSubscribe,
} from '../subscriptions/subscribe.ts';
import { ON_UNSUBSCRIBE, parseUnsubscribe, UNSUBSCRIBE } from '../subscriptions/unsubscribe.ts';
import { dciPost, incoming, type RouteContext } from './kit.ts';

const ACKED = {
  202: 'ACK (spec components.responses.Response)',
  400: 'ERR acknowledgement',
  409: 'ERR acknowledgement: rjct.message_id.duplicate',
};

/**
 * Async `/registry/subscribe` (answered on `/registry/on-subscribe`) and `/registry/unsubscribe`
 * (answered on `/registry/on-unsubscribe`); registered where errors are ERR acknowledgements. The
 * cores are subscriptions/subscribe.ts and unsubscribe.ts; notifications leave from the dispatcher
 * (subscriptions/dispatch.ts).
 */
export function subscriptionRoutes(app: App, ctx: RouteContext): void {
  const { db, registry, receiver } = ctx;
  dciPost(
    app,
    ctx,
    {
      path: SUBSCRIBE,
      audit: 'subscribe',
      signature: 'async',
      summary: 'subscribe to registry events',
      description:
        'Acknowledged at once; each subscribe_request item is answered on on-subscribe (to header.sender_uri, or ' +
        `the client's registered callback URI + ${ON_SUBSCRIBE}) with its subscription code or its reason code. ` +
        `Notifications then go to the registered callback URI + ${NOTIFY} as events happen; a client without one ` +
        'is refused (ERR err.sender_uri.invalid). The filter takes the search query forms (idtype-value, ' +
        'expression, predicate) and attributes; unknown ones are rejected (rjct.notify_details.invalid).',
      answers: ACKED,
    },
    async (request, reply, principal) => {
      const parsed = parseSubscribe(request.body, { registry, path: SUBSCRIBE }, receiver);
      // Checked before anything is recorded: a subscription without a place to notify is useless.
      callbackTarget(await findCallbackSettings(db, principal.clientId), undefined, NOTIFY);
      const answer = await acceptAsync(db, ctx.jobs, {
        ...incoming(ctx, request, principal, { ...described(parsed), operation: 'subscribe', mode: 'async' }),
        body: request.body,
        callbackPath: ON_SUBSCRIBE,
        job: SUBSCRIBE_JOB,
      });
      request.auditNote = { resourceId: parsed.transactionId };
      return reply.code(202).send(answer);
    },
  );

  dciPost(
    app,
    ctx,
    {
      path: UNSUBSCRIBE,
      audit: 'unsubscribe',
      signature: 'async',
      summary: 'end subscriptions',
      description:
        'Acknowledged at once; answered on on-unsubscribe. Only your own subscription codes: any other code ' +
        "(another client's included) is rjct.subscription_code.invalid, and then none of the codes is unsubscribed.",
      answers: ACKED,
    },
    async (request, reply, principal) => {
      const parsed = parseUnsubscribe(request.body, { registry, path: UNSUBSCRIBE }, receiver);
      const answer = await acceptAsync(db, ctx.jobs, {
        ...incoming(ctx, request, principal, {
          header: parsed.header,
          transactionId: parsed.transactionId,
          summary: { codes: parsed.codes.length },
          operation: 'unsubscribe',
          mode: 'async',
        }),
        body: request.body,
        callbackPath: ON_UNSUBSCRIBE,
        job: UNSUBSCRIBE_JOB,
      });
      request.auditNote = { resourceId: parsed.transactionId };
      return reply.code(202).send(answer);
    },
  );
}

/** What a subscribe message asked, without its filter values: for the exchange record. */
function described(parsed: ParsedSubscribe) {
  const distinct = (values: unknown[]) => [...new Set(values.filter((v) => typeof v === 'string'))];
  const criteria = parsed.items.map((item) => item.subscribe_criteria ?? {});
  return {
    header: parsed.header,
    transactionId: parsed.transactionId,
    referenceIds: parsed.items.map((item) => item.reference_id).filter((ref) => typeof ref === 'string'),
    summary: {
      items: parsed.items.length,
      event_types: distinct(criteria.map((c) => c.reg_event_type)),
      record_types: distinct(criteria.map((c) => c.notify_record_type)),
      filter_types: distinct(criteria.map((c) => c.filter_type)),
    },
  };
}
