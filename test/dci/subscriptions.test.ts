import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, findClient, listKeys, revokeKey } from '#platform/auth/clients';
import { insertIndividual } from '#test/factories';
import { keysDeep, seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, txnStatusMessage, type DciTestApp } from './harness.ts';
import { validateResponse } from '#dci/spec';
import { until } from './callback-server.ts';
import {
  codeOf,
  criteria,
  newSubscriber,
  notificationsOf,
  notificationsTo,
  quietly,
  settledNotifications,
  SR,
  subscribe as subscribeAs,
  where,
  type Json,
  type Subscriber,
} from './subscriptions.ts';

const NOTIFY = SR.notify;

describe('DCI subscriptions: notifications of registry changes (Social Registry)', () => {
  let t: DciTestApp;
  let registry: Registry6;
  let client: Subscriber;

  beforeAll(async () => {
    t = await createDciApp();
    registry = await seedRegistry(t.database.db);
    client = await newSubscriber(t);
  });
  afterAll(async () => {
    await t.close();
    await client.server.close();
  });

  const db = () => t.database.db;
  const subscriber = (role: 'integrator' | 'analyst' = 'integrator') => newSubscriber(t, role);
  const subscribe = (items: Json[], who = client) => subscribeAs(t, who, items);
  const notifications = (who = client) => notificationsTo(who.server, NOTIFY, 'social');

  it('subscribes, then notifies a matching new person once, in a spec-valid notify, and not a person elsewhere', async () => {
    const [item] = await subscribe([
      criteria('REGISTER', 'Person', 'predicate', where('location', 'eq', 'R01')),
    ]);
    expect(item).toMatchObject({
      reference_id: 'sub-1',
      status: 'succ',
      subscriptions: [{ status: 'subscribe', reg_event_type: 'REGISTER', notify_record_type: 'Person' }],
    });
    const code = codeOf(item);
    await insertIndividual(db(), registry.households.A, { given_name: 'Baraka', family_name: 'Mushi' });
    await insertIndividual(db(), registry.households.E, { given_name: 'Elsewhere' });

    const [delivery] = await settledNotifications(db(), code, 1);
    const [notify] = notifications();
    expect(notify!['header']).toMatchObject({
      action: 'notify',
      message_id: delivery!.message_id,
      status: 'succ',
      receiver_id: 'spmis.example.org',
    });
    expect(notify!['message'].notify_event).toEqual([
      expect.objectContaining({
        reference_id: code,
        locale: 'eng',
        data: expect.objectContaining({
          reg_event_type: 'REGISTER',
          reg_record_type: 'Person',
          reg_records: expect.objectContaining({ name: expect.objectContaining({ given_name: 'Baraka' }) }),
        }),
      }),
    ]);
    await quietly();
    expect(notifications()).toHaveLength(1);
    // Every attempt is logged, without personal data; the record leaving is audited.
    const log = await db()
      .selectFrom('dci_exchange_log')
      .selectAll()
      .where('delivery_id', '=', delivery!.id)
      .execute();
    expect(log).toEqual([
      expect.objectContaining({ action: 'notify', outcome: 'delivered', attempt: 1, status_code: 200 }),
    ]);
    const audit = await db().selectFrom('audit_log').selectAll().where('resource_id', '=', code).execute();
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'dci.social.notify',
        client_id: client.id,
        record_count: 1,
        outcome: 'success',
      }),
    ]);
  });

  it('sends the notifications of a subscription with a cron frequency at the times it names', async () => {
    const other = await subscriber();
    try {
      const window = (frequency: string) => ({
        frequency: {
          start_time: new Date(Date.now() - 3_600_000).toISOString(),
          end_time: new Date(Date.now() + 86_400_000).toISOString(),
          frequency,
        },
      });
      const filter = where('location', 'eq', 'R01');
      const [everySecond, newYear2099, invalid] = await subscribe(
        [
          criteria('REGISTER', 'Person', 'predicate', filter, window('* * * * * ?')),
          criteria('REGISTER', 'Person', 'predicate', filter, window('0 0 0 1 1 ? 2099')),
          criteria('REGISTER', 'Person', 'predicate', filter, window('every full moon')),
        ],
        other,
      );
      expect(invalid).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.notify_details.invalid' });
      await insertIndividual(db(), registry.households.A, { given_name: 'Cron' });

      const [sent] = await settledNotifications(db(), codeOf(everySecond), 1);
      expect(sent!.not_before).not.toBeNull();
      expect(sent!.delivered_at!.getTime()).toBeGreaterThanOrEqual(sent!.not_before!.getTime());
      const [waiting] = await until(
        async () => {
          const rows = await notificationsOf(db(), codeOf(newYear2099));
          return rows[0]?.job_id ? rows : undefined;
        },
        20_000,
        'the notification scheduled for 2099',
      );
      expect(waiting).toMatchObject({ status: 'pending', not_before: new Date('2099-01-01T00:00:00Z') });
      await quietly();
      expect(notificationsTo(other.server, NOTIFY, 'social')).toHaveLength(1);
      const listed = await t.asAdmin('GET', `/api/v1/dci/deliveries/${waiting!.id}`);
      expect(listed.json()).toMatchObject({ status: 'pending', not_before: '2099-01-01T00:00:00.000Z' });
    } finally {
      await other.server.close();
    }
  });

  it('answers the status of a subscribe transaction with its on-subscribe items', async () => {
    const [item] = await subscribe([criteria('UPDATE', 'Person', 'predicate', where('sex', 'eq', 'female'))]);
    const onSubscribe = client.server.received.filter((call) => call.path === SR.onSubscribe).at(-1)!;
    const transactionId = (onSubscribe.body as Json)['message'].transaction_id as string;
    const asked = txnStatusMessage('transaction_id', transactionId, 'subscribe');
    const res = await t.post('/dci/sr/registry/sync/txn/status', asked, client.key);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(validateResponse({ registry: 'social', path: '/registry/sync/txn/status' }, body)).toEqual([]);
    const { txn_type, txn_status } = body.message.txnstatus_response;
    expect(txn_type).toBe('subscribe');
    expect(txn_status.transaction_id).toBe(transactionId);
    expect(txn_status.subscribe_response).toEqual([item]);
    expect(txn_status.search_response).toEqual([
      { reference_id: item!['reference_id'], timestamp: item!['timestamp'], status: 'succ' },
    ]);
    // As a search, or by another client, it is not found.
    const asSearch = txnStatusMessage('transaction_id', transactionId, 'search');
    expect((await t.post('/dci/sr/registry/sync/txn/status', asSearch, client.key)).statusCode).toBe(404);
    const other = await subscriber();
    try {
      const theirs = txnStatusMessage('transaction_id', transactionId, 'subscribe');
      expect((await t.post('/dci/sr/registry/sync/txn/status', theirs, other.key)).statusCode).toBe(404);
    } finally {
      await other.server.close();
    }
  });

  it('notifies updates and deaths to the subscriptions that match, Group and Person records alike', async () => {
    const items = await subscribe([
      criteria('UPDATE', 'Group', 'expression', {
        type: 'ns:org:QueryType:expression',
        value: { expression: { collection: 'Group', query: { poverty_score: { $lt: 5 } } } },
      }),
      criteria('DEATH', 'Person', 'idtype-value', { type: 'UIN', value: 'UIN-C1' }),
      criteria('DEATH', 'Group', undefined, where('household_number', 'eq', 'HH-C')),
      criteria('NewHouseHoldMember', 'Group', 'predicate', where('household_number', 'eq', 'HH-B')),
    ]);
    expect(items.map((item) => item['status'])).toEqual(['succ', 'succ', 'succ', 'succ']);
    const [groupUpdates, halimaDeath, householdDeaths, newMembers] = items.map(codeOf);
    const before = notifications().length;

    await db()
      .updateTable('households')
      .set({ pmt_score: 4 })
      .where('id', '=', registry.households.A)
      .execute();
    await db()
      .updateTable('households')
      .set({ pmt_score: 60 })
      .where('id', '=', registry.households.F)
      .execute();
    await db()
      .updateTable('individuals')
      .set({ phone: '+255700000001' })
      .where('id', '=', registry.persons['halima']!)
      .execute();
    await db()
      .updateTable('individuals')
      .set({ is_deceased: true, deceased_date: '2025-02-01' })
      .where('id', '=', registry.persons['halima']!)
      .execute();

    await insertIndividual(db(), registry.households.B, {
      given_name: 'Imani',
      relationship_to_head: 'CHILD',
    });

    await settledNotifications(db(), groupUpdates!, 1);
    await settledNotifications(db(), newMembers!, 1);
    await settledNotifications(db(), halimaDeath!, 1);
    await settledNotifications(db(), householdDeaths!, 1);
    // Imani is also a new person in R01: the first story's subscription hears of her too.
    const codes = [groupUpdates, halimaDeath, householdDeaths, newMembers];
    const received = notifications()
      .slice(before)
      .filter((n) => codes.includes(n['message'].notify_event[0].reference_id));
    expect(received).toHaveLength(4);
    const byCode = new Map(
      received.map((n) => [n['message'].notify_event[0].reference_id, n['message'].notify_event[0].data]),
    );
    expect(byCode.get(groupUpdates)).toMatchObject({ reg_event_type: 'UPDATE', reg_record_type: 'Group' });
    expect(JSON.stringify(byCode.get(groupUpdates))).toContain('HH-A');
    expect(byCode.get(halimaDeath)).toMatchObject({
      reg_event_type: 'DEATH',
      reg_records: expect.objectContaining({ death_date: '2025-02-01T00:00:00Z' }),
    });
    expect(byCode.get(householdDeaths)).toMatchObject({ reg_event_type: 'DEATH', reg_record_type: 'Group' });
    expect(byCode.get(newMembers)).toMatchObject({
      reg_event_type: 'NewHouseHoldMember',
      reg_record_type: 'Group',
    });
    expect(JSON.stringify(byCode.get(newMembers))).toContain('Imani');
  });

  it('applies the field policy of the subscribing client to the filter and to the records notified', async () => {
    const analyst = await subscriber('analyst');
    try {
      const [byUin] = await subscribe(
        [criteria('REGISTER', 'Person', 'idtype-value', { type: 'UIN', value: 'UIN-X' })],
        analyst,
      );
      expect(byUin).toMatchObject({
        status: 'rjct',
        status_reason_code: 'rjct.notify_details.invalid',
        status_reason_message: expect.stringMatching(/may not search by UIN/),
      });
      const [byYear] = await subscribe(
        [criteria('REGISTER', 'Person', 'predicate', where('birth_year', 'ge', '2000'))],
        analyst,
      );
      await insertIndividual(db(), registry.households.F, { given_name: 'Hidden', birth_date: '2020-01-01' });
      await settledNotifications(db(), codeOf(byYear), 1);
      const [notify] = notificationsTo(analyst.server, NOTIFY, 'social');
      const keys = keysDeep(notify!['message']);
      for (const hidden of ['name', 'birth_date', 'identifier', 'phone_number']) {
        expect(keys.has(hidden), hidden).toBe(false);
      }
    } finally {
      await analyst.server.close();
    }
  });

  it('notifies a client that receives consented records only of the persons who consented to its purpose', async () => {
    const careful = await subscriber();
    try {
      await db()
        .updateTable('dci_client_settings')
        .set({ consent_required: true })
        .where('client_id', '=', careful.id)
        .execute();
      const inR02 = where('location', 'eq', 'R02');
      const [unstated] = await subscribe([criteria('REGISTER', 'Person', 'predicate', inR02)], careful);
      expect(unstated).toMatchObject({
        status: 'rjct',
        status_reason_code: 'rjct.notify_details.invalid',
        status_reason_message: expect.stringMatching(/consent/),
      });
      const authorize = { purpose: { code: 'cash_transfer' } };
      const [stated] = await subscribe(
        [criteria('REGISTER', 'Person', 'predicate', inR02, { authorize })],
        careful,
      );
      // The registry records a person and their consent in one transaction.
      await db()
        .transaction()
        .execute(async (trx) => {
          const id = await insertIndividual(trx, registry.households.F, { given_name: 'Consenting' });
          await trx.insertInto('consents').values({ individual_id: id, purpose: 'cash_transfer' }).execute();
        });
      await insertIndividual(db(), registry.households.F, { given_name: 'Silent' });
      await settledNotifications(db(), codeOf(stated), 1);
      await quietly();
      const names = notificationsTo(careful.server, NOTIFY, 'social').map(
        (n) => n['message'].notify_event[0].data.reg_records.name.given_name,
      );
      expect(names).toEqual(['Consenting']);
    } finally {
      await careful.server.close();
    }
  });

  it('keeps notifying across a key rotation, and stops once the client has no usable key', async () => {
    const rotating = await subscriber();
    try {
      const [item] = await subscribe(
        [criteria('REGISTER', 'Person', 'predicate', where('location', 'eq', 'R02'))],
        rotating,
      );
      const code = codeOf(item);
      // The admin issues a new key and revokes the one that subscribed.
      const client = await findClient(db(), rotating.id);
      const fresh = await createKey(db(), client, { expiresInDays: 30 });
      for (const key of await listKeys(db(), rotating.id)) {
        if (key.id !== fresh.id) {
          await revokeKey(db(), key.id);
        }
      }
      await insertIndividual(db(), registry.households.E, { given_name: 'AfterRotation' });
      await settledNotifications(db(), code, 1);

      await revokeKey(db(), fresh.id);
      await insertIndividual(db(), registry.households.E, { given_name: 'NoKeyLeft' });
      await quietly();
      const names = notificationsTo(rotating.server, NOTIFY, 'social').map(
        (n) => n['message'].notify_event[0].data.reg_records.name.given_name,
      );
      expect(names).toEqual(['AfterRotation']);
    } finally {
      await rotating.server.close();
    }
  });
});
