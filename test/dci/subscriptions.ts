import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { DB } from '#platform/db/types';
import { validateRequest, validateResponse, type Registry } from '#dci/spec';
import { startCallbackServer, until, type CallbackServer } from './callback-server.ts';
import { example, type DciTestApp, type TestSigner } from './harness.ts';

/** Building subscribe and unsubscribe messages, and reading what subscribers received. */

// Tests read arbitrary DCI JSON by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

let sequence = 0;

/** `subscribe_criteria` of one subscription (filter_type said, unless undefined). */
export const criteria = (
  eventType: string,
  recordType: string,
  filterType: string | undefined,
  filter: unknown,
  more: Json = {},
): Json => ({
  version: '1.0.0',
  reg_event_type: eventType,
  notify_record_type: recordType,
  ...(filterType === undefined ? {} : { filter_type: filterType }),
  filter,
  ...more,
});

/** A predicate filter of one test. */
export const where = (attribute: string, operator: string, value: unknown) => [
  { seq_num: 1, expression1: { attribute_name: attribute, operator, attribute_value: value } },
];

/** A subscribe message (fresh ids, sent now), one item per criteria, references sub-1, sub-2, ... */
export function subscribeMessage(senderUri: string | undefined, ...items: Json[]): Json {
  const message = example<Json>('sr-subscribe-request');
  sequence += 1;
  message['header'].total_count = items.length;
  setSenderUri(message, senderUri);
  message['message'] = {
    transaction_id: `txn-sub-${sequence}-${randomBytes(3).toString('hex')}`,
    subscribe_request: items.map((subscribe_criteria, i) => ({
      reference_id: `sub-${i + 1}`,
      timestamp: new Date().toISOString(),
      subscribe_criteria,
      locale: 'eng',
    })),
  };
  return message;
}

/** An unsubscribe message for these codes. */
export function unsubscribeMessage(senderUri: string | undefined, codes: string[]): Json {
  const message = example<Json>('sr-subscribe-request');
  sequence += 1;
  message['header'].action = 'unsubscribe';
  setSenderUri(message, senderUri);
  message['message'] = {
    transaction_id: `txn-unsub-${sequence}-${randomBytes(3).toString('hex')}`,
    timestamp: new Date().toISOString(),
    subscription_codes: codes,
  };
  return message;
}

function setSenderUri(message: Json, senderUri: string | undefined) {
  if (senderUri === undefined) {
    delete message['header'].sender_uri;
  } else {
    message['header'].sender_uri = senderUri;
  }
}

/** Calls the subscriber received on this path, bodies checked against the spec's request schema. */
export function callsTo(server: CallbackServer, path: string, registry: Registry, specPath: string): Json[] {
  return server.received
    .filter((call) => call.path === path)
    .map((call) => {
      expect(validateRequest({ registry, path: specPath }, call.body), JSON.stringify(call.body)).toEqual([]);
      return call.body;
    });
}

/**
 * The notifications a subscriber keeps: the first of each message id. A message is sent again when
 * an attempt failed after it reached the subscriber (a timeout on a loaded machine): the subscriber
 * recognises the repeat by its message id, as the spec intends.
 */
export function notificationsTo(server: CallbackServer, path: string, registry: Registry): Json[] {
  const seen = new Set<string>();
  return callsTo(server, path, registry, '/registry/notify').filter((body) => {
    const id = body['header'].message_id as string;
    return seen.has(id) ? false : (seen.add(id), true);
  });
}

/** Waits for the n-th call on a path (1-based), checked against the spec. */
export const nthCall = (
  server: CallbackServer,
  path: string,
  registry: Registry,
  specPath: string,
  n: number,
) =>
  until(
    () => {
      const calls = server.received.filter((call) => call.path === path);
      return calls.length >= n ? callsTo(server, path, registry, specPath)[n - 1] : undefined;
    },
    20_000,
    `call ${n} to ${path}`,
  );

/** The notifications (deliveries) of a subscription, oldest first. */
export const notificationsOf = (db: Kysely<DB>, code: string) =>
  db
    .selectFrom('dci_deliveries as d')
    .innerJoin('dci_subscriptions as s', 's.id', 'd.subscription_id')
    .selectAll('d')
    .where('s.code', '=', code)
    .orderBy('d.created_at')
    .orderBy('d.event_id')
    .execute();

/** Waits until a subscription has `count` notifications, all with this status. */
export const settledNotifications = (db: Kysely<DB>, code: string, count: number, status = 'delivered') =>
  until(
    async () => {
      const rows = await notificationsOf(db, code);
      return rows.length === count && rows.every((row) => row.status === status) ? rows : undefined;
    },
    25_000,
    `${count} ${status} notification(s)`,
  );

/** Lets the dispatcher run a few rounds (harness interval: 200 ms), to show that nothing happens. */
export const quietly = () => new Promise((resolve) => setTimeout(resolve, 1_500));

/** A subscribing client: its key, its signing key and its callback server (callback URI <origin>/dci). */
export interface Subscriber {
  id: string;
  key: string;
  sign: TestSigner;
  server: CallbackServer;
}

export async function newSubscriber(
  t: DciTestApp,
  role: 'integrator' | 'analyst' = 'integrator',
): Promise<Subscriber> {
  const server = await startCallbackServer();
  const { id, key } = await t.clientFor(role);
  await t.setCallbacks(id, {
    callback_origins: [server.origin],
    callback_uri: `${server.origin}/dci`,
    allow_private_addresses: true, // the test bench is on 127.0.0.1
  });
  return { id, key, sign: await t.signerFor(id), server };
}

export const SR = {
  subscribe: '/dci/sr/registry/subscribe',
  unsubscribe: '/dci/sr/registry/unsubscribe',
  onSubscribe: '/dci/registry/on-subscribe',
  onUnsubscribe: '/dci/registry/on-unsubscribe',
  notify: '/dci/registry/notify',
} as const;

/** Sends a message to an SR async endpoint (ACK checked against the spec); returns its spec-valid callback. */
async function exchange(
  t: DciTestApp,
  who: Subscriber,
  url: string,
  message: Json,
  callback: string,
): Promise<Json> {
  const specPath = callback === SR.onSubscribe ? '/registry/on-subscribe' : '/registry/on-unsubscribe';
  const before = who.server.received.filter((call) => call.path === callback).length;
  const res = await t.post(url, who.sign(message), who.key);
  expect(res.statusCode, res.body).toBe(202);
  expect(validateResponse({ registry: 'social', path: url.slice('/dci/sr'.length) }, res.json())).toEqual([]);
  const answer = await nthCall(who.server, callback, 'social', specPath, before + 1);
  expect(answer['message'].correlation_id).toBe(res.json().message.correlation_id);
  return answer;
}

/** Subscribes on the SR mount; returns the on-subscribe items. */
export const subscribe = async (t: DciTestApp, who: Subscriber, items: Json[]): Promise<Json[]> =>
  (await exchange(t, who, SR.subscribe, subscribeMessage(undefined, ...items), SR.onSubscribe))['message']
    .subscribe_response;

/** Unsubscribes on the SR mount; returns the on-unsubscribe message. */
export const unsubscribe = async (t: DciTestApp, who: Subscriber, codes: string[]): Promise<Json> =>
  (await exchange(t, who, SR.unsubscribe, unsubscribeMessage(undefined, codes), SR.onUnsubscribe))['message'];

/** The code of a subscribed on-subscribe item. */
export const codeOf = (item: Json | undefined): string => item!['subscriptions'][0].code;
