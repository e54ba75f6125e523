import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeStoredAnswers } from '#dci/exchange/retention';
import { startCallbackServer, type CallbackServer } from './callback-server.ts';
import { asyncSearch, attemptsOf, exchangeOf, settled } from './exchanges.ts';
import { seedRegistry } from './fixtures.ts';
import { createDciApp, idType, type DciTestApp, type TestSigner } from './harness.ts';

const ASYNC = '/dci/sr/registry/search';
const DELIVERIES = '/api/v1/dci/deliveries';

describe('DCI dead letters: list, inspect, replay; retention of stored answers', () => {
  let t: DciTestApp;
  let admin: string;
  let client: { id: string; key: string };
  let callbacks: CallbackServer;
  /** Async messages must be signed (the default signature policy): this client's key. */
  let sign: TestSigner;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    callbacks = await startCallbackServer();
    admin = await t.keyFor('admin');
    client = await t.clientFor('integrator');
    sign = await t.signerFor(client.id);
    await t.setCallbacks(client.id, { callback_origins: [callbacks.origin], allow_private_addresses: true });
  });
  afterAll(async () => {
    await t.close();
    await callbacks.close();
  });

  const get = (url: string, key = admin) =>
    t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  const replay = (id: string, key = admin) => t.post(`${DELIVERIES}/${id}/replay`, {}, key);

  /** An async search whose callback answered 503 until no retries were left. */
  async function deadDelivery() {
    callbacks.answerWith(503);
    const message = asyncSearch(`${callbacks.origin}/on-search`, idType('Group', 'UIN', 'UIN-A1'));
    expect((await t.post(ASYNC, sign(message), client.key)).statusCode).toBe(202);
    const exchange = await exchangeOf(t.database.db, client.id, message.message.transaction_id);
    return { exchange, delivery: await settled(t.database.db, exchange.id, 'dead') };
  }

  it('lists dead letters with their attempts, and replays one with the same message id', async () => {
    const { exchange, delivery } = await deadDelivery();
    const list = await get(`${DELIVERIES}?status=dead&client_id=${client.id}`);
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([
      expect.objectContaining({ id: delivery.id, status: 'dead', attempts: 2, last_status_code: 503 }),
    ]);
    const one = await get(`${DELIVERIES}/${delivery.id}`);
    expect(
      one.json().log.map((a: { outcome: string; status_code: number }) => [a.outcome, a.status_code]),
    ).toEqual([
      ['failed', 503],
      ['failed', 503],
    ]);

    callbacks.answerWith(200);
    const before = callbacks.received.length;
    const replayed = await replay(delivery.id);
    expect(replayed.statusCode).toBe(202);
    expect(replayed.json()).toMatchObject({ id: delivery.id, status: 'pending' });
    const delivered = await settled(t.database.db, exchange.id, 'delivered');
    expect(delivered.message_id).toBe(delivery.message_id);
    const calls = callbacks.received.slice(before);
    expect(calls.map((c) => (c.body['header'] as { message_id: string }).message_id)).toEqual([
      delivery.message_id,
    ]);
    // The records went out with the replay: the stored answer was kept for it.
    expect(JSON.stringify(calls[0]!.body)).toContain('reg_records');
    expect((await attemptsOf(t.database.db, delivery.id)).at(-1)).toMatchObject({ outcome: 'delivered' });

    // A delivered callback is not sent again.
    const again = await replay(delivery.id);
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toMatch(/dead or refused/);
  });

  it('refuses a replay once the answer was purged, and purging keeps the item statuses', async () => {
    const { exchange, delivery } = await deadDelivery();
    await sql`update dci_exchanges set updated_at = now() - interval '2 days' where id = ${exchange.id}`.execute(
      t.database.db,
    );
    expect(await purgeStoredAnswers(t.database.db, new Date(Date.now() - 86_400_000))).toBeGreaterThanOrEqual(
      1,
    );
    const purged = await exchangeOf(t.database.db, client.id, exchange.transaction_id);
    expect(purged.purged_at).not.toBeNull();
    const items = (purged.response as { message: { search_response: Record<string, unknown>[] } }).message
      .search_response;
    expect(items).toEqual([expect.objectContaining({ reference_id: 'ref-1', status: 'succ' })]);
    expect(items[0]).not.toHaveProperty('data');

    const res = await replay(delivery.id);
    expect(res.statusCode).toBe(410);
    expect(res.json().detail).toMatch(/retention/);
    expect((await get(`${DELIVERIES}/${delivery.id}`)).json()).toMatchObject({ status: 'dead' });
  });

  it('answers bad input and other roles with clear errors', async () => {
    expect((await replay('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    const bad = await replay('not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
    expect((await get(`${DELIVERIES}?status=lost`)).statusCode).toBe(400);
    expect((await get(`${DELIVERIES}?cursor=garbage`)).statusCode).toBe(400);
    expect((await get(DELIVERIES, client.key)).statusCode).toBe(403);
    expect((await replay('00000000-0000-4000-8000-000000000000', client.key)).statusCode).toBe(403);
  });
});
