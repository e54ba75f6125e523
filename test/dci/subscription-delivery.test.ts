import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer, until, type CallbackServer } from './callback-server.ts';
import { seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, type DciTestApp, type TestSigner } from './harness.ts';
import {
  criteria,
  nthCall,
  notificationsOf,
  settledNotifications,
  subscribeMessage,
  where,
  type Json,
} from './subscriptions.ts';

const NOTIFY = '/dci/registry/notify';
const RETRY = { retry: { retryLimit: 2, retryDelaySeconds: 1 } };

describe('DCI notifications: retries, dead letters and a gateway restart', () => {
  let t: DciTestApp;
  let registry: Registry6;
  let server: CallbackServer;
  let client: { id: string; key: string; sign: TestSigner };

  beforeAll(async () => {
    // Three attempts: the first fails before the restart, one is left after it.
    t = await createDciApp(RETRY);
    registry = await seedRegistry(t.database.db);
    server = await startCallbackServer();
    const { id, key } = await t.clientFor('integrator');
    client = { id, key, sign: await t.signerFor(id) };
    await t.setCallbacks(id, {
      callback_origins: [server.origin],
      callback_uri: `${server.origin}/dci`,
      allow_private_addresses: true,
    });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  const db = () => t.database.db;

  async function subscribe(item: Json): Promise<string> {
    const before = server.received.filter((call) => call.path === '/dci/registry/on-subscribe').length;
    const res = await t.post(
      '/dci/sr/registry/subscribe',
      client.sign(subscribeMessage(undefined, item)),
      client.key,
    );
    expect(res.statusCode, res.body).toBe(202);
    const answer = await nthCall(
      server,
      '/dci/registry/on-subscribe',
      'social',
      '/registry/on-subscribe',
      before + 1,
    );
    return answer['message'].subscribe_response[0].subscriptions[0].code;
  }
  const phone = (person: string, value: string) =>
    db()
      .updateTable('individuals')
      .set({ phone: value })
      .where('id', '=', registry.persons[person]!)
      .execute();
  const messageIds = (calls: CallbackServer['received']) =>
    calls
      .filter((call) => call.path === NOTIFY)
      .map((call) => (call.body['header'] as Json)['message_id'] as string);

  it('retries a subscriber that answers 503 with the same message id, then leaves the notification dead', async () => {
    const code = await subscribe(
      criteria('UPDATE', 'Person', 'idtype-value', { type: 'UIN', value: 'UIN-E1' }),
    );
    server.answerWith(503);
    try {
      const before = server.received.length;
      await phone('said', '+255711000001');
      const [delivery] = await until(
        async () => {
          const rows = await notificationsOf(db(), code);
          return rows[0]?.status === 'dead' ? rows : undefined;
        },
        30_000,
        'the notification to die',
      );
      expect(delivery).toMatchObject({ attempts: 3, last_status_code: 503 });
      const ids = messageIds(server.received.slice(before));
      expect(ids).toEqual(Array(3).fill(delivery!.message_id));
      const attempts = await db()
        .selectFrom('dci_exchange_log')
        .select(['attempt', 'outcome', 'status_code'])
        .where('delivery_id', '=', delivery!.id)
        .orderBy('id')
        .execute();
      expect(attempts.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual(
        [1, 2, 3].map((n) => [n, 'failed', 503]),
      );
      // The delivery is marked dead by the attempt, the job failed by the runner just after it.
      const job = await until(
        async () => {
          const row = await db()
            .selectFrom('jobs')
            .select(['status', 'error'])
            .where(sql<string>`payload->>'deliveryId'`, '=', delivery!.id)
            .executeTakeFirstOrThrow();
          return row.status === 'running' ? undefined : row;
        },
        10_000,
        'the job to end',
      );
      expect(job).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/no retries left \(dead\)$/),
      });

      // Once the subscriber is back, an administrator replays the dead letter: same message id.
      server.answerWith(200);
      const replayed = await t.asAdmin('POST', `/api/v1/dci/deliveries/${delivery!.id}/replay`, {});
      expect(replayed.statusCode, replayed.body).toBe(202);
      const [again] = await settledNotifications(db(), code, 1);
      expect(again).toMatchObject({ message_id: delivery!.message_id, last_status_code: 200 });
      expect(messageIds(server.received.slice(before)).at(-1)).toBe(delivery!.message_id);
    } finally {
      server.answerWith(200);
    }
  }, 90_000);

  it('resumes after a restart in the middle of pending notifications: each is delivered exactly once', async () => {
    const code = await subscribe(criteria('UPDATE', 'Person', 'predicate', where('location', 'eq', 'R01')));
    server.answerWith(503);
    // Three changes before the stop: their notifications fail and wait for a retry.
    for (const [person, value] of [
      ['amina', '1'],
      ['baraka', '2'],
      ['juma', '3'],
    ] as const) {
      await phone(person, `+2557120000${value}`);
    }
    await until(
      async () => {
        const rows = await notificationsOf(db(), code);
        return rows.length === 3 && rows.every((row) => row.status === 'retrying') ? rows : undefined;
      },
      20_000,
      'three notifications waiting for a retry',
    );
    await t.app.close();

    // Two changes while the gateway is down: only their outbox events exist.
    await phone('neema', '+255712000004');
    await phone('halima', '+255712000005');
    server.answerWith(200);
    const deliveredFrom = server.received.length;
    t = await createDciApp({ on: t, ...RETRY });

    const rows = await settledNotifications(db(), code, 5);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // late repeats would show now
    // Each notification reached the subscriber, under its own message id, and was delivered once.
    const delivered = new Set(messageIds(server.received.slice(deliveredFrom)));
    expect([...delivered].sort()).toEqual(rows.map((row) => row.message_id).sort());
    const successes = await db()
      .selectFrom('dci_exchange_log')
      .select('delivery_id')
      .where(
        'delivery_id',
        'in',
        rows.map((row) => row.id),
      )
      .where('outcome', '=', 'delivered')
      .execute();
    expect(successes.map((s) => s.delivery_id).sort()).toEqual(rows.map((row) => row.id).sort());
    const subjects = await db()
      .selectFrom('dci_deliveries as d')
      .innerJoin('dci_registry_events as ev', 'ev.id', 'd.event_id')
      .select('ev.individual_id')
      .where('d.subscription_id', '=', rows[0]!.subscription_id)
      .execute();
    expect(subjects.map((s) => s.individual_id).sort()).toEqual(
      ['amina', 'baraka', 'juma', 'neema', 'halima'].map((p) => registry.persons[p]).sort(),
    );
  }, 90_000);
});
