import type { App } from '#platform/http/types';
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
import { dciAsyncPost, distinctStrings, type RouteContext } from './kit.ts';

/**
 * Async `/registry/subscribe` (answered on `/registry/on-subscribe`) and `/registry/unsubscribe`
 * (answered on `/registry/on-unsubscribe`); registered where errors are ERR acknowledgements. The
 * cores are subscriptions/subscribe.ts and unsubscribe.ts; notifications leave from the dispatcher
 * (subscriptions/dispatch.ts).
 */
export function subscriptionRoutes(app: App, ctx: RouteContext): void {
  const { db, registry, receiver } = ctx;
  dciAsyncPost(
    app,
    ctx,
    {
      path: SUBSCRIBE,
      audit: 'subscribe',
      operationId: (r) => `subscribe${r}`,
      summary: 'subscribe to registry events',
      description:
        'Acknowledged at once; each subscribe_request item is answered on on-subscribe (to header.sender_uri, or ' +
        `the client's registered callback URI + ${ON_SUBSCRIBE}) with its subscription code or its reason code. ` +
        `Notifications then go to the registered callback URI + ${NOTIFY} as events happen; a client without one ` +
        'is refused (ERR err.sender_uri.invalid). The filter takes the search query forms (idtype-value, ' +
        'expression, predicate) and attributes; unknown ones are rejected (rjct.notify_details.invalid).',
    },
    {
      operation: 'subscribe',
      parse: (body) => parseSubscribe(body, { registry, path: SUBSCRIBE }, receiver),
      // Checked before anything is recorded: a subscription without a place to notify is useless.
      check: async (_parsed, principal) => {
        callbackTarget(await findCallbackSettings(db, principal.clientId), undefined, NOTIFY);
      },
      describe: described,
      callbackPath: ON_SUBSCRIBE,
      job: SUBSCRIBE_JOB,
    },
  );

  dciAsyncPost(
    app,
    ctx,
    {
      path: UNSUBSCRIBE,
      audit: 'unsubscribe',
      operationId: (r) => `unsubscribe${r}`,
      summary: 'end subscriptions',
      description:
        'Acknowledged at once; answered on on-unsubscribe. Only your own subscription codes: any other code ' +
        "(another client's included) is rjct.subscription_code.invalid, and then none of the codes is unsubscribed.",
    },
    {
      operation: 'unsubscribe',
      parse: (body) => parseUnsubscribe(body, { registry, path: UNSUBSCRIBE }, receiver),
      describe: (parsed) => ({ summary: { codes: parsed.codes.length } }),
      callbackPath: ON_UNSUBSCRIBE,
      job: UNSUBSCRIBE_JOB,
    },
  );
}

/** What a subscribe message asked, without its filter values: for the exchange record. */
function described(parsed: ParsedSubscribe) {
  const criteria = parsed.items.map((item) => item.subscribe_criteria ?? {});
  return {
    referenceIds: parsed.items.map((item) => item.reference_id).filter((ref) => typeof ref === 'string'),
    summary: {
      items: parsed.items.length,
      event_types: distinctStrings(criteria.map((c) => c.reg_event_type)),
      record_types: distinctStrings(criteria.map((c) => c.notify_record_type)),
      filter_types: distinctStrings(criteria.map((c) => c.filter_type)),
    },
  };
}
