import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeNotifications } from '#dci/exchange/retention';
import { insertIndividual } from '#test/factories';
import { seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, type DciTestApp } from './harness.ts';
import {
  codeOf,
  criteria,
  newSubscriber,
  notificationsOf,
  settledNotifications,
  subscribe,
  where,
  type Subscriber,
} from './subscriptions.ts';

describe('DCI retention of notifications and their outbox events', () => {
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

  it('removes finished notifications and their events once past the retention period, keeping the attempt log', async () => {
    const db = t.database.db;
    const [item] = await subscribe(t, client, [
      criteria('REGISTER', 'Person', 'predicate', where('location', 'eq', 'R02')),
    ]);
    const code = codeOf(item);
    await insertIndividual(db, registry.households.E, { given_name: 'Old' });
    const [old] = await settledNotifications(db, code, 1);
    const dayAgo = new Date(Date.now() - 86_400_000);

    // Nothing is old enough yet.
    expect(await purgeNotifications(db, dayAgo)).toBe(0);
    await sql`update dci_deliveries set updated_at = now() - interval '2 days' where id = ${old!.id}`.execute(
      db,
    );
    await sql`update dci_registry_events set dispatched_at = now() - interval '2 days' where id = ${old!.event_id}`.execute(
      db,
    );
    await insertIndividual(db, registry.households.E, { given_name: 'Recent' });
    await settledNotifications(db, code, 2);

    expect(await purgeNotifications(db, dayAgo)).toBe(1);
    const left = await notificationsOf(db, code);
    expect(left.map((d) => d.id)).not.toContain(old!.id);
    expect(left).toHaveLength(1);
    const events = await db.selectFrom('dci_registry_events').select('id').execute();
    expect(events.map((e) => e.id)).not.toContain(old!.event_id);
    const log = await db
      .selectFrom('dci_exchange_log')
      .select('outcome')
      .where('delivery_id', '=', old!.id)
      .execute();
    expect(log).toEqual([{ outcome: 'delivered' }]);
  });
});
