import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRequest, validateResponse } from '#dci/spec';
import { startCallbackServer, until, type CallbackServer } from './callback-server.ts';
import { asyncSearch, attemptsOf, exchangeOf, settled } from './exchanges.ts';
import { groupNumbers, seedRegistry, type ResponseItem } from './fixtures.ts';
import { createDciApp, idType, predicate, type DciTestApp, type TestSigner } from './harness.ts';

const ASYNC = '/dci/sr/registry/search';
const ON_SEARCH = { registry: 'social' as const, path: '/registry/on-search' };

describe('DCI async search: ACK now, on-search callback later', () => {
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
    await t.setCallbacks(client.id, {
      callback_origins: [callbacks.origin],
      callback_uri: `${callbacks.origin}/dci`,
      allow_private_addresses: true,
    });
  });
  afterAll(async () => {
    await t.close();
    await callbacks.close();
  });

  const db = () => t.database.db;
  const exchangeFor = (transactionId: string, clientId = client.id) =>
    exchangeOf(db(), clientId, transactionId);
  const settledAs = (exchangeId: string, status: string) => settled(db(), exchangeId, status);

  it('acknowledges at once, then POSTs a spec-valid on-search with the ACK correlation id to sender_uri', async () => {
    const before = callbacks.received.length;
    const message = asyncSearch(
      `${callbacks.origin}/spmis/on-search`,
      idType('Group', 'UIN', 'UIN-A1'),
      predicate('Group', ['poverty_score', 'lt', '5']),
    );
    const res = await t.post(ASYNC, sign(message), client.key);
    expect(res.statusCode, res.body).toBe(202);
    const ack = res.json();
    expect(validateResponse({ registry: 'social', path: '/registry/search' }, ack)).toEqual([]);
    expect(ack.message).toMatchObject({ ack_status: 'ACK', correlation_id: expect.any(String) });

    const [call] = (await callbacks.waitFor(before + 1)).slice(before);
    expect(call!.path).toBe('/spmis/on-search');
    expect(validateRequest(ON_SEARCH, call!.body)).toEqual([]);
    const body = call!.body as {
      header: Record<string, unknown>;
      message: { transaction_id: string; correlation_id: string; search_response: ResponseItem[] };
    };
    expect(body.header).toMatchObject({
      action: 'on-search',
      status: 'succ',
      receiver_id: 'spmis.example.org',
    });
    expect(body.message.transaction_id).toBe(message.message.transaction_id);
    expect(body.message.correlation_id).toBe(ack.message.correlation_id);
    expect(groupNumbers(body.message.search_response[0])).toEqual(['HH-A']);
    expect(groupNumbers(body.message.search_response[1]).sort()).toEqual(['HH-A', 'HH-E']);

    const delivery = await settledAs((await exchangeFor(message.message.transaction_id)).id, 'delivered');
    const exchange = await exchangeFor(message.message.transaction_id);
    expect(exchange).toMatchObject({ status: 'succ', mode: 'async', request: null });
    expect(delivery).toMatchObject({
      attempts: 1,
      last_status_code: 200,
      message_id: body.header['message_id'],
    });
    expect(await attemptsOf(db(), delivery.id)).toEqual([
      expect.objectContaining({
        direction: 'out',
        peer_origin: callbacks.origin,
        action: 'on-search',
        outcome: 'delivered',
        status_code: 200,
        attempt: 1,
      }),
    ]);
    // The records left through the job: the audit trail says so, with their number.
    const audit = await db()
      .selectFrom('audit_log')
      .select(['action', 'client_id', 'record_count', 'outcome'])
      .where('resource_id', '=', message.message.transaction_id)
      .orderBy('seq')
      .execute();
    expect(audit).toEqual([
      { action: 'dci.social.search.async', client_id: client.id, record_count: 0, outcome: 'success' },
      { action: 'dci.social.search.answered', client_id: client.id, record_count: 3, outcome: 'success' },
    ]);
  });

  it("sends to the client's registered callback URI when the header has no sender_uri", async () => {
    const before = callbacks.received.length;
    const res = await t.post(
      ASYNC,
      sign(asyncSearch(undefined, idType('Group', 'UIN', 'UIN-C1'))),
      client.key,
    );
    expect(res.statusCode, res.body).toBe(202);
    const [call] = (await callbacks.waitFor(before + 1)).slice(before);
    expect(call!.path).toBe('/dci/registry/on-search');
    expect(validateRequest(ON_SEARCH, call!.body)).toEqual([]);
  });

  it('answers an async IBR search the same way, with a spec-valid IBR on-search', async () => {
    const message = asyncSearch(
      `${callbacks.origin}/ibr/on-search`,
      predicate('Beneficiary', ['programme_identifier', 'eq', 'NONE']),
    );
    expect((await t.post('/dci/ibr/registry/search', sign(message), client.key)).statusCode).toBe(202);
    const exchange = await exchangeFor(message.message.transaction_id);
    await settledAs(exchange.id, 'delivered');
    const call = callbacks.received.find((c) => c.path === '/ibr/on-search')!;
    expect(validateRequest({ registry: 'ibr', path: '/registry/on-search' }, call.body)).toEqual([]);
    expect(call.body).toMatchObject({ message: { search_response: [{ status: 'succ' }] } });
  });

  it('never sends a delivered message again, even when its job runs again', async () => {
    const message = asyncSearch(`${callbacks.origin}/once`, idType('Group', 'UIN', 'UIN-D1'));
    expect((await t.post(ASYNC, sign(message), client.key)).statusCode).toBe(202);
    const exchange = await exchangeFor(message.message.transaction_id);
    await settledAs(exchange.id, 'delivered');
    const calls = () => callbacks.received.filter((c) => c.path === '/once').length;
    expect(calls()).toBe(1);
    const jobId = await t.app.jobs.enqueue('dci.search', { exchangeId: exchange.id });
    const job = await until(
      async () => {
        const j = await t.app.jobs.get(jobId);
        return j?.status === 'succeeded' ? j : undefined;
      },
      10_000,
      'the second run',
    );
    expect(job.skip_reason).toBe('delivery already-finished');
    expect(calls()).toBe(1);
  });

  describe('bad input', () => {
    it('answers a malformed envelope with an ERR ack (err.request.bad) naming the fields', async () => {
      const message = asyncSearch(`${callbacks.origin}/x`, idType('Group', 'UIN', 'UIN-A1'));
      delete message.header['message_ts'];
      const res = await t.post(ASYNC, sign(message), client.key);
      expect(res.statusCode).toBe(400);
      expect(validateResponse({ registry: 'social', path: '/registry/search' }, res.json())).toEqual([]);
      expect(res.json().message.error).toEqual({
        code: 'err.request.bad',
        message: "/header/message_ts: must have required property 'message_ts'",
      });
    });

    it('answers a message id used twice with an ERR ack naming rjct.message_id.duplicate (409)', async () => {
      const message = sign(asyncSearch(`${callbacks.origin}/dup`, idType('Group', 'UIN', 'UIN-A1')));
      expect((await t.post(ASYNC, message, client.key)).statusCode).toBe(202);
      const again = await t.post(ASYNC, message, client.key);
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toMatchObject({
        ack_status: 'ERR',
        error: { code: 'err.request.bad', message: expect.stringMatching(/^rjct\.message_id\.duplicate: /) },
      });
    });

    it('answers a missing key with the spec HttpErrorResponse (401), and queues nothing', async () => {
      const res = await t.post(ASYNC, asyncSearch(`${callbacks.origin}/x`), undefined);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        errors: [{ code: 'err.request.unauthorized', message: expect.any(String) }],
      });
    });

    it('answers non-JSON and a non-object body with an ERR ack', async () => {
      for (const payload of ['{"unterminated', '[1,2,3]']) {
        const res = await t.post(ASYNC, payload, client.key);
        expect(res.statusCode, payload).toBe(400);
        expect(res.json().message).toMatchObject({ ack_status: 'ERR', error: { code: 'err.request.bad' } });
      }
    });
  });
});
