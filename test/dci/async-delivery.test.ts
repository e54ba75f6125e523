import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { deadOrigin, startCallbackServer, until, type CallbackServer } from './callback-server.ts';
import { asyncSearch, attemptsOf, exchangeOf, settled } from './exchanges.ts';
import { seedRegistry } from './fixtures.ts';
import { createDciApp, idType, type DciTestApp, type TestSigner } from './harness.ts';

const ASYNC = '/dci/sr/registry/search';

describe('DCI async callbacks: the SSRF guard, retries and the dead-letter state', () => {
  let t: DciTestApp;
  let client: { id: string; key: string };
  let callbacks: CallbackServer;
  /** Async messages must be signed (the default signature policy): this client's key. */
  let sign: TestSigner;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    callbacks = await startCallbackServer();
    client = await t.clientFor('integrator');
    sign = await t.signerFor(client.id);
    // The test bench is on 127.0.0.1: this client may receive callbacks on private addresses.
    await t.setCallbacks(client.id, { callback_origins: [callbacks.origin], allow_private_addresses: true });
  });
  afterAll(async () => {
    await t.close();
    await callbacks.close();
  });

  const db = () => t.database.db;
  const exchangeFor = (transactionId: string, clientId = client.id) =>
    exchangeOf(db(), clientId, transactionId);
  const settledAs = (exchangeId: string, status: string) => settled(db(), exchangeId, status);

  it('does not call an origin the client has not registered: ERR ack, the transaction rejected with the reason', async () => {
    const other = await startCallbackServer();
    try {
      const message = asyncSearch(`${other.origin}/on-search`, idType('Group', 'UIN', 'UIN-A1'));
      const res = await t.post(ASYNC, sign(message), client.key);
      expect(res.statusCode).toBe(400);
      expect(validateResponse({ registry: 'social', path: '/registry/search' }, res.json())).toEqual([]);
      expect(res.json().message).toMatchObject({
        ack_status: 'ERR',
        error: { code: 'err.sender_uri.invalid', message: expect.stringContaining('not registered') },
      });
      expect(await exchangeFor(message.message.transaction_id)).toMatchObject({
        status: 'rjct',
        status_reason_code: 'err.sender_uri.invalid',
        status_reason_message: expect.stringContaining(other.origin),
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(other.received).toEqual([]);
      // Refused messages do not use up their message id: once fixed, the same message is accepted.
      message.header['sender_uri'] = `${callbacks.origin}/fixed`;
      expect((await t.post(ASYNC, sign(message), client.key)).statusCode).toBe(202);
      await settledAs((await exchangeFor(message.message.transaction_id)).id, 'delivered');
    } finally {
      await other.close();
    }
  });

  it('refuses private callback hosts unless the client is allowed them, also behind a DNS name', async () => {
    const strict = await t.clientFor('integrator');
    const signStrict = await t.signerFor(strict.id);
    const port = new URL(callbacks.origin).port;
    await t.setCallbacks(strict.id, {
      callback_origins: [callbacks.origin, `http://localhost:${port}`],
    });
    const literal = await t.post(
      ASYNC,
      signStrict(asyncSearch(`${callbacks.origin}/x`, idType('Group', 'UIN', 'UIN-A1'))),
      strict.key,
    );
    expect(literal.statusCode).toBe(400);
    expect(literal.json().message.error).toMatchObject({ code: 'err.sender_uri.invalid' });

    // A host name passes the request-time check; its addresses are checked when connecting.
    const message = asyncSearch(`http://localhost:${port}/by-name`, idType('Group', 'UIN', 'UIN-A1'));
    expect((await t.post(ASYNC, signStrict(message), strict.key)).statusCode).toBe(202);
    const exchange = await exchangeFor(message.message.transaction_id, strict.id);
    const delivery = await settledAs(exchange.id, 'refused');
    expect(delivery.last_error).toMatch(/private or loopback/);
    expect(await attemptsOf(db(), delivery.id)).toEqual([
      expect.objectContaining({ outcome: 'refused', status_code: null }),
    ]);
    expect(callbacks.received.filter((c) => c.path === '/by-name')).toEqual([]);
  });

  it('retries a callback server that is down, then leaves the delivery dead', async () => {
    const down = await deadOrigin();
    const flaky = await t.clientFor('integrator');
    const signFlaky = await t.signerFor(flaky.id);
    await t.setCallbacks(flaky.id, { callback_origins: [down], allow_private_addresses: true });
    const message = asyncSearch(`${down}/on-search`, idType('Group', 'UIN', 'UIN-A1'));
    expect((await t.post(ASYNC, signFlaky(message), flaky.key)).statusCode).toBe(202);
    const exchange = await exchangeFor(message.message.transaction_id, flaky.id);
    const delivery = await settledAs(exchange.id, 'dead');
    expect(delivery).toMatchObject({ attempts: 2, last_error: expect.stringMatching(/ECONNREFUSED/) });
    const attempts = await attemptsOf(db(), delivery.id);
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    const job = await until(
      async () => {
        const row = await db()
          .selectFrom('jobs')
          .select(['status', 'attempts', 'error'])
          .where(sql<string>`payload->>'exchangeId'`, '=', exchange.id)
          .executeTakeFirst();
        return row?.status === 'failed' ? row : undefined;
      },
      10_000,
      'the job to fail',
    );
    expect(job).toMatchObject({ attempts: 2, error: expect.stringMatching(/no retries left \(dead\)$/) });
    // The search itself was answered: the answer stays available through txn status.
    expect(await exchangeFor(message.message.transaction_id, flaky.id)).toMatchObject({ status: 'succ' });
  });

  it('retries a callback answering 503 and delivers the same message id once it answers 200', async () => {
    const server = await startCallbackServer();
    try {
      server.answerWith(503);
      const patient = await t.clientFor('integrator');
      const signPatient = await t.signerFor(patient.id);
      await t.setCallbacks(patient.id, { callback_origins: [server.origin], allow_private_addresses: true });
      const message = asyncSearch(`${server.origin}/on-search`, idType('Group', 'UIN', 'UIN-B1'));
      expect((await t.post(ASYNC, signPatient(message), patient.key)).statusCode).toBe(202);
      await server.waitFor(1);
      server.answerWith(200);
      const exchange = await exchangeFor(message.message.transaction_id, patient.id);
      const delivery = await settledAs(exchange.id, 'delivered');
      const calls = server.received.map((c) => (c.body['header'] as { message_id: string }).message_id);
      expect(calls).toEqual([delivery.message_id, delivery.message_id]);
      expect((await attemptsOf(db(), delivery.id)).map((a) => [a.outcome, a.status_code])).toEqual([
        ['failed', 503],
        ['delivered', 200],
      ]);
    } finally {
      await server.close();
    }
  });
});
