import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRequest, validateResponse } from '#dci/spec';
import { startCallbackServer, type CallbackServer } from './callback-server.ts';
import { onSearch, seedRegistry } from './fixtures.ts';
import {
  createDciApp,
  idType,
  predicate,
  searchMessage,
  txnStatusMessage,
  type DciTestApp,
  type TestMessage,
  type TestSigner,
} from './harness.ts';

const SYNC_STATUS = '/dci/sr/registry/sync/txn/status';
const srSearch = { registry: 'social' as const, path: '/registry/sync/search' };
const srStatus = { registry: 'social' as const, path: '/registry/sync/txn/status' };

// Tests read arbitrary DCI JSON by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

describe('DCI message ids and transaction status', () => {
  let t: DciTestApp;
  let mine: { id: string; key: string };
  let other: { id: string; key: string };
  let callbacks: CallbackServer;
  /** Async messages must be signed (the default signature policy): my client's key. */
  let sign: TestSigner;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    mine = await t.clientFor('integrator');
    other = await t.clientFor('integrator');
    sign = await t.signerFor(mine.id);
    callbacks = await startCallbackServer();
    await t.setCallbacks(mine.id, {
      callback_origins: [callbacks.origin],
      callback_uri: callbacks.origin,
      allow_private_addresses: true,
    });
  });
  afterAll(async () => {
    await t.close();
    await callbacks.close();
  });

  const status = async (key: string, message: TestMessage, expected: number) => {
    const res = await t.post(SYNC_STATUS, message, key);
    expect(res.statusCode, res.body).toBe(expected);
    expect(validateResponse(srStatus, res.json())).toEqual([]);
    return res.json<Json>();
  };

  describe('message ids', () => {
    it('refuses a message id used twice with rjct.message_id.duplicate (409, a spec-valid envelope)', async () => {
      const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
      expect((await t.search('sr', message, mine.key)).statusCode).toBe(200);
      const again = await t.search('sr', message, mine.key);
      expect(again.statusCode).toBe(409);
      expect(validateResponse(srSearch, again.json())).toEqual([]);
      expect(again.json().header).toMatchObject({
        action: 'on-search',
        status: 'rjct',
        status_reason_code: 'rjct.message_id.duplicate',
      });
      expect(again.json()).not.toHaveProperty('message');
    });

    it("accepts another client's message id: ids are unique per sender", async () => {
      const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
      expect((await t.search('sr', message, mine.key)).statusCode).toBe(200);
      expect((await t.search('sr', message, other.key)).statusCode).toBe(200);
    });

    it('lets a message rejected as a whole be sent again, fixed, with the same id', async () => {
      const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
      message.header['total_count'] = 3;
      expect((await t.search('sr', message, mine.key)).statusCode).toBe(400);
      message.header['total_count'] = 1;
      expect((await t.search('sr', message, mine.key)).statusCode).toBe(200);
    });
  });

  describe('sync txn status', () => {
    let search: TestMessage;
    let answer: Json;

    beforeAll(async () => {
      search = searchMessage(
        idType('Group', 'UIN', 'UIN-A1'),
        predicate('Group', ['poverty_score', 'lt', '5']),
      );
      answer = onSearch(await t.search('sr', search, mine.key));
    });

    it("answers the status of the caller's own search by transaction_id: item statuses, no records kept", async () => {
      const body = await status(
        mine.key,
        txnStatusMessage('transaction_id', search.message.transaction_id),
        200,
      );
      expect(body['header']).toMatchObject({ action: 'txn-on-status', status: 'succ' });
      const { txnstatus_response } = body['message'];
      expect(txnstatus_response.txn_type).toBe('search');
      expect(txnstatus_response.txn_status).toMatchObject({
        transaction_id: search.message.transaction_id,
        correlation_id: answer.message.correlation_id,
        search_response: [
          { reference_id: 'ref-1', status: 'succ', pagination: { total_count: 1 } },
          { reference_id: 'ref-2', status: 'succ', pagination: { total_count: 2 } },
        ],
      });
      expect(JSON.stringify(txnstatus_response)).not.toContain('reg_records');
    });

    it('finds it by correlation_id, and by reference ids (answering those items only)', async () => {
      const byCorrelation = await status(
        mine.key,
        txnStatusMessage('correlation_id', answer.message.correlation_id),
        200,
      );
      expect(byCorrelation['message'].txnstatus_response.txn_status.transaction_id).toBe(
        search.message.transaction_id,
      );
      const byReference = await status(mine.key, txnStatusMessage('reference_id_list', ['ref-2']), 200);
      expect(
        byReference['message'].txnstatus_response.txn_status.search_response.map(
          (i: Json) => i['reference_id'],
        ),
      ).toEqual(['ref-2']);
    });

    it("does not find another client's transaction: the same answer as for one that never was", async () => {
      const asked = txnStatusMessage('transaction_id', search.message.transaction_id);
      const theirs = await status(other.key, asked, 404);
      const nobody = await status(other.key, txnStatusMessage('transaction_id', 'no-such-transaction'), 404);
      expect(theirs['header']).toMatchObject({ status: 'rjct', action: 'txn-on-status' });
      expect(theirs['header'].status_reason_message).toBe(nobody['header'].status_reason_message);
      // The message names only the status request's own ids: nothing of the other client's search.
      expect(theirs['message'].txnstatus_response.txn_status).toEqual({
        transaction_id: asked.message.transaction_id,
        correlation_id: theirs['message'].correlation_id,
        search_response: [
          expect.objectContaining({
            reference_id: (asked.message['txnstatus_request'] as Json)['reference_id'],
          }),
        ],
      });
      expect(JSON.stringify(theirs['message'])).not.toContain(search.message.transaction_id);
      await status(other.key, txnStatusMessage('correlation_id', answer.message.correlation_id), 404);
    });

    it('says why nothing was found with a reason code clients can branch on, by every attribute_type', async () => {
      for (const [by, value] of [
        ['transaction_id', 'no-such-transaction'],
        ['correlation_id', 'no-such-correlation'],
        ['reference_id_list', ['no-such-reference']],
      ] as const) {
        const asked = txnStatusMessage(by, value);
        const body = await status(mine.key, asked, 404);
        const { txn_type, txn_status } = body['message'].txnstatus_response;
        expect(txn_type).toBe('search');
        expect(txn_status.search_response, by).toEqual([
          {
            reference_id: (asked.message['txnstatus_request'] as Json)['reference_id'],
            timestamp: body['header'].message_ts,
            status: 'rjct',
            status_reason_code: 'rjct.search_criteria.invalid',
            status_reason_message: `no search transaction of yours matches this ${by}`,
          },
        ]);
      }
    });

    it('does not find searches through the other registry, nor as subscriptions', async () => {
      const ibr = await t.post(
        '/dci/ibr/registry/sync/txn/status',
        txnStatusMessage('transaction_id', search.message.transaction_id),
        mine.key,
      );
      expect(ibr.statusCode).toBe(404);
      await status(
        mine.key,
        txnStatusMessage('transaction_id', search.message.transaction_id, 'subscribe'),
        404,
      );
    });

    it('answers the records of an async search, kept for its callback', async () => {
      const asyncSearch = searchMessage(idType('Group', 'UIN', 'UIN-E1'));
      const ack = await t.post('/dci/sr/registry/search', sign(asyncSearch), mine.key);
      expect(ack.statusCode).toBe(202);
      await callbacks.waitFor(1);
      const body = await status(
        mine.key,
        txnStatusMessage('transaction_id', asyncSearch.message.transaction_id),
        200,
      );
      const [item] = body['message'].txnstatus_response.txn_status.search_response;
      expect(item.data.reg_records[0].group_identifier[0].identifier_value).toBe('HH-E');
    });
  });

  describe('async txn status', () => {
    it('acknowledges, then POSTs a spec-valid txn-on-status to the registered callback URI', async () => {
      const search = searchMessage(idType('Group', 'UIN', 'UIN-B1'));
      expect((await t.search('sr', search, mine.key)).statusCode).toBe(200);
      const before = callbacks.received.length;
      const message = txnStatusMessage('transaction_id', search.message.transaction_id);
      delete message.header['sender_uri'];
      const res = await t.post('/dci/sr/registry/txn/status', sign(message), mine.key);
      expect(res.statusCode, res.body).toBe(202);
      expect(validateResponse({ registry: 'social', path: '/registry/txn/status' }, res.json())).toEqual([]);
      const [call] = (await callbacks.waitFor(before + 1)).slice(before);
      expect(call!.path).toBe('/registry/txn/on-status');
      expect(validateRequest({ registry: 'social', path: '/registry/txn/on-status' }, call!.body)).toEqual(
        [],
      );
      expect(call!.body).toMatchObject({
        header: { action: 'txn-on-status', status: 'succ' },
        message: {
          transaction_id: message.message.transaction_id,
          correlation_id: res.json().message.correlation_id,
          txnstatus_response: {
            txn_type: 'search',
            txn_status: { transaction_id: search.message.transaction_id },
          },
        },
      });
    });
  });

  describe('bad input', () => {
    it('refuses an attribute_value that does not fit its attribute_type (400, err.request.bad)', async () => {
      const res = await t.post(SYNC_STATUS, txnStatusMessage('transaction_id', ['a', 'b']), mine.key);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        errors: [
          {
            code: 'err.request.bad',
            message: '/message/txnstatus_request/attribute_value: must be a non-empty string',
          },
        ],
      });
    });

    it('refuses a malformed envelope and an unknown txn_type', async () => {
      const noHeader = txnStatusMessage('transaction_id', 'x') as Partial<TestMessage>;
      delete noHeader.header;
      expect((await t.post(SYNC_STATUS, noHeader, mine.key)).json().errors[0].code).toBe('err.request.bad');
      const badType = await t.post(SYNC_STATUS, txnStatusMessage('transaction_id', 'x', 'payment'), mine.key);
      expect(badType.statusCode).toBe(400);
    });

    it('refuses a caller without a key (401) or without registry:read (403)', async () => {
      expect((await t.post(SYNC_STATUS, txnStatusMessage('transaction_id', 'x'), undefined)).statusCode).toBe(
        401,
      );
      const jobsOnly = await t.keyFor('integrator', ['jobs:read']);
      const res = await t.post(SYNC_STATUS, txnStatusMessage('transaction_id', 'x'), jobsOnly);
      expect(res.statusCode).toBe(403);
      expect(res.json().errors[0].code).toBe('err.request.forbidden');
    });

    it('refuses a txn status message id used twice (409)', async () => {
      const message = txnStatusMessage('transaction_id', 'x');
      await status(mine.key, message, 404);
      const again = await status(mine.key, message, 409);
      expect(again['header'].status_reason_code).toBe('rjct.message_id.duplicate');
    });
  });
});
