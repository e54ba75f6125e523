import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { startCallbackServer } from './callback-server.ts';
import { seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, type DciTestApp } from './harness.ts';
import {
  codeOf,
  criteria,
  newSubscriber,
  notificationsOf,
  nthCall,
  quietly,
  settledNotifications,
  SR,
  subscribe as subscribeAs,
  subscribeMessage,
  unsubscribe as unsubscribeAs,
  unsubscribeMessage,
  where,
  type Json,
  type Subscriber,
} from './subscriptions.ts';

const SUBSCRIBE = SR.subscribe;

describe('DCI subscriptions: unsubscribe, other owners, bad input, the admin list', () => {
  let t: DciTestApp;
  let registry: Registry6;
  let client: Subscriber;
  let other: Subscriber;

  beforeAll(async () => {
    t = await createDciApp();
    registry = await seedRegistry(t.database.db);
    client = await newSubscriber(t);
    other = await newSubscriber(t);
  });
  afterAll(async () => {
    await t.close();
    await client.server.close();
    await other.server.close();
  });

  const db = () => t.database.db;
  const send = (url: string, message: Json, who = client) => t.post(url, who.sign(message), who.key);
  const subscribe = (items: Json[], who = client) => subscribeAs(t, who, items);
  const unsubscribe = (codes: string[], who = client) => unsubscribeAs(t, who, codes);

  it('unsubscribes: on-unsubscribe is spec-valid, and no notification follows', async () => {
    const code = codeOf(
      (await subscribe([criteria('UPDATE', 'Person', 'predicate', where('sex', 'eq', 'male'))]))[0],
    );
    await db()
      .updateTable('individuals')
      .set({ phone: '+255700000002' })
      .where('id', '=', registry.persons['said']!)
      .execute();
    await settledNotifications(db(), code, 1);

    expect(await unsubscribe([code])).toMatchObject({
      status: 'succ',
      subscription_status: [{ code, status: 'unsubscribe' }],
    });
    await db()
      .updateTable('individuals')
      .set({ phone: '+255700000003' })
      .where('id', '=', registry.persons['said']!)
      .execute();
    await quietly();
    expect(await notificationsOf(db(), code)).toHaveLength(1);
    expect(await unsubscribe([code])).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.event.already_unsubscribed',
    });
  });

  it("refuses to unsubscribe another client's code exactly like an unknown one, and ends none of the codes", async () => {
    const mine = codeOf(
      (await subscribe([criteria('REGISTER', 'Group', 'predicate', where('location', 'eq', 'R02'))]))[0],
    );
    const theirs = codeOf(
      (
        await subscribe([criteria('REGISTER', 'Group', 'predicate', where('location', 'eq', 'R02'))], other)
      )[0],
    );
    const stolen = await unsubscribe([mine, theirs]);
    const unknown = await unsubscribe([mine, 'no-such-code']);
    for (const answer of [stolen, unknown]) {
      expect(answer).toMatchObject({
        status: 'rjct',
        status_reason_code: 'rjct.subscription_code.invalid',
        status_reason_message: expect.stringMatching(
          /not a subscription of yours on this registry: .*nothing was unsubscribed/,
        ),
      });
      expect(answer['subscription_status']).toBeUndefined();
    }
    expect(stolen['status_reason_message'].replace(theirs, 'X')).toBe(
      unknown['status_reason_message'].replace('no-such-code', 'X'),
    );
    const statuses = await db()
      .selectFrom('dci_subscriptions')
      .select(['code', 'status'])
      .where('code', 'in', [mine, theirs])
      .execute();
    expect(statuses.map((s) => s.status)).toEqual(['active', 'active']);
    // The IBR mount does not know Social Registry subscriptions either.
    const before = client.server.received.filter((call) => call.path === SR.onUnsubscribe).length;
    const res = await send('/dci/ibr/registry/unsubscribe', unsubscribeMessage(undefined, [mine]));
    expect(res.statusCode).toBe(202);
    const answer = await nthCall(
      client.server,
      SR.onUnsubscribe,
      'ibr',
      '/registry/on-unsubscribe',
      before + 1,
    );
    expect(answer['message']).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.subscription_code.invalid',
    });
  });

  it('lists subscriptions with their notification counts to an administrator only, without filters', async () => {
    const list = async (query: string) => {
      const res = await t.asAdmin('GET', `/api/v1/dci/subscriptions?client_id=${client.id}${query}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body).not.toContain('"filter"');
      return res.json().items as Json[];
    };
    const all = await list('');
    // The first story's subscription: one notification delivered, then unsubscribed.
    expect(all.at(-1)).toMatchObject({
      client_id: client.id,
      status: 'unsubscribed',
      reg_event_type: 'UPDATE',
      notify_record_type: 'Person',
      filter_type: 'predicate',
      ended_at: expect.any(String),
      notifications: { pending: 0, retrying: 0, delivered: 1, refused: 0, dead: 0, cancelled: 0 },
    });
    const active = await list('&status=active');
    expect(active.length).toBeGreaterThan(0);
    expect(active.length).toBeLessThan(all.length);
    expect(active.every((item) => item['status'] === 'active')).toBe(true);
    const denied = await t.app.inject({
      method: 'GET',
      url: '/api/v1/dci/subscriptions',
      headers: { authorization: `Bearer ${client.key}` },
    });
    expect(denied.statusCode).toBe(403);
  });

  describe('bad input', () => {
    const countRows = async () => ({
      subscriptions: Number(
        (
          await db()
            .selectFrom('dci_subscriptions')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
      exchanges: Number(
        (
          await db()
            .selectFrom('dci_exchanges')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    });

    it('answers a malformed subscribe with an ERR ack naming the field, and records nothing', async () => {
      const before = await countRows();
      const message = subscribeMessage(
        undefined,
        criteria('REGISTER', 'Person', 'predicate', where('sex', 'eq', 'male')),
      );
      delete message['message'].subscribe_request[0].subscribe_criteria.notify_record_type;
      delete message['header'].message_id;
      const res = await send(SUBSCRIBE, message);
      expect(res.statusCode).toBe(400);
      expect(validateResponse({ registry: 'social', path: '/registry/subscribe' }, res.json())).toEqual([]);
      expect(res.json().message).toMatchObject({
        ack_status: 'ERR',
        error: { code: 'err.request.bad', message: expect.stringContaining('/header/message_id') },
      });
      expect(await countRows()).toEqual(before);
    });

    it('refuses a client without a registered callback URI (notifications would have nowhere to go)', async () => {
      const server = await startCallbackServer();
      try {
        const { id, key } = await t.clientFor('integrator');
        await t.setCallbacks(id, { callback_origins: [server.origin], allow_private_addresses: true });
        const lost = { id, key, sign: await t.signerFor(id), server };
        const before = await countRows();
        const message = subscribeMessage(
          `${server.origin}/on-subscribe`,
          criteria('REGISTER', 'Person', 'predicate', where('sex', 'eq', 'male')),
        );
        const res = await send(SUBSCRIBE, message, lost);
        expect(res.statusCode).toBe(400);
        expect(res.json().message.error).toMatchObject({
          code: 'err.sender_uri.invalid',
          message: expect.stringMatching(/no callback URI registered/),
        });
        expect(await countRows()).toEqual(before);
      } finally {
        await server.close();
      }
    });

    it('rejects each bad item with its reason code and subscribes the good ones only', async () => {
      const good = criteria('NewHouseHoldMember', 'Group', 'predicate', where('location', 'eq', 'R01'));
      const items = await subscribe([
        criteria('REGISTER', 'Person', 'predicate', where('favourite_colour', 'eq', 'blue')),
        criteria('BIRTH', 'Person', 'predicate', where('sex', 'eq', 'male')),
        criteria('REGISTER', 'Beneficiary', 'predicate', where('sex', 'eq', 'male')),
        criteria('REGISTER', 'Person', 'graphql', { type: 'graphql', value: { expression: '{ member }' } }),
        criteria('UPDATE', 'Person', 'predicate', where('sex', 'eq', 'male'), {
          frequency: {
            start_time: '2020-01-01T00:00:00Z',
            end_time: '2021-01-01T00:00:00Z',
            frequency: '0 0 * * * ? *',
          },
        }),
        good,
        good,
      ]);
      expect(items.map((item) => [item['status'], item['status_reason_code']])).toEqual([
        ['rjct', 'rjct.notify_details.invalid'],
        ['rjct', 'rjct.notify_types.invalid'],
        ['rjct', 'rjct.notify_types.invalid'],
        ['rjct', 'rjct.notify_details.invalid'],
        ['rjct', 'rjct.notify_details.invalid'],
        ['succ', undefined],
        ['rjct', 'rjct.event.already_subscribed'],
      ]);
      expect(items[0]!['status_reason_message']).toMatch(/unknown attribute "favourite_colour"/);
      const recorded = await db()
        .selectFrom('dci_subscriptions')
        .select('reference_id')
        .where('code', 'in', items.filter((i) => i['status'] === 'succ').map(codeOf))
        .execute();
      expect(recorded).toEqual([{ reference_id: 'sub-6' }]);
      // An item that is not even an object is rejected on its own, the message still answered.
      const broken = subscribeMessage(
        undefined,
        criteria('DEATH', 'Member', 'predicate', where('sex', 'eq', 'male')),
      );
      broken['message'].subscribe_request.unshift('not an item');
      broken['header'].total_count = 2;
      const before = client.server.received.filter((call) => call.path === SR.onSubscribe).length;
      const res = await send(SUBSCRIBE, broken);
      expect(res.statusCode, res.body).toBe(202);
      const answer = await nthCall(
        client.server,
        SR.onSubscribe,
        'social',
        '/registry/on-subscribe',
        before + 1,
      );
      expect(
        answer['message'].subscribe_response.map((i: Json) => [
          i['reference_id'],
          i['status_reason_code'] ?? i['status'],
        ]),
      ).toEqual([
        ['', 'rjct.notify_details.invalid'],
        ['sub-1', 'succ'],
      ]);
      // The same criteria again, in another message: already subscribed.
      const [again] = await subscribe([good]);
      expect(again).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.event.already_subscribed' });
    });
  });
});
