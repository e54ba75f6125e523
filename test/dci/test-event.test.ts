import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DciClient } from '@spx/dci-client';
import { validateRequest } from '#dci/spec';
import { createTestApp, type TestApp } from '#test/app';
import { asAdmin, newClient, type TestClient } from '#test/clients';
import { deadOrigin, startCallbackServer, type CallbackServer } from './callback-server.ts';

/**
 * "Send a test event" (POST /api/v1/clients/{id}/dci/test-event) through the whole gateway: a signed
 * notify without events reaches the client's callback endpoint on 127.0.0.1, valid by the spec and
 * verifiable with our published keys; a failing, unreachable or forbidden endpoint is reported as
 * such; the attempt is in the exchange log and the audit log.
 */

let t: TestApp;
let server: CallbackServer;
let mis: TestClient;

const testEvent = (clientId: string, key = t.adminKey) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/clients/${clientId}/dci/test-event`,
    headers: { authorization: `Bearer ${key}` },
  });
const setCallbacks = async (clientId: string, settings: Record<string, unknown>) => {
  const res = await asAdmin(t, 'PUT', `/api/v1/clients/${clientId}/dci`, settings);
  expect(res.statusCode, res.body).toBe(200);
};

describe('sending a test event to a client’s callback endpoint', () => {
  beforeAll(async () => {
    t = await createTestApp();
    server = await startCallbackServer();
    mis = await newClient(t, 'integrator');
    await setCallbacks(mis.id, {
      callback_origins: [server.origin],
      callback_uri: `${server.origin}/dci`,
      allow_private_addresses: true,
    });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('delivers a signed notify without events, valid by the spec, and logs the attempt', async () => {
    const res = await testEvent(mis.id);
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json();
    expect(result).toMatchObject({
      url: `${server.origin}/dci/registry/notify`,
      outcome: 'delivered',
      status_code: 200,
      error: null,
    });
    const [call] = server.received;
    expect(call?.path).toBe('/dci/registry/notify');
    expect(validateRequest({ registry: 'social', path: '/registry/notify' }, call!.body)).toEqual([]);
    expect(call!.body['message']).toMatchObject({ notify_event: [] });
    expect(call!.body['header']).toMatchObject({ action: 'notify', message_id: result.message_id });

    // The client verifies it with the keys we publish, as it verifies every callback.
    const jwks = (await t.get('/.well-known/jwks.json')).json();
    const client = new DciClient({
      baseUrl: 'http://unused',
      apiKey: 'unused',
      senderId: 'mis',
      registryKeys: jwks,
    });
    await expect(client.receive(call!.body)).resolves.toBeDefined();

    const log = await t.database.db
      .selectFrom('dci_exchange_log')
      .select(['action', 'outcome', 'status_code', 'delivery_id', 'peer_origin'])
      .where('message_id', '=', result.message_id)
      .execute();
    expect(log).toEqual([
      {
        action: 'notify',
        outcome: 'delivered',
        status_code: 200,
        delivery_id: null,
        peer_origin: server.origin,
      },
    ]);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_id', 'outcome'])
      .where('action', '=', 'client.dci_test_event')
      .execute();
    expect(audit).toEqual([{ action: 'client.dci_test_event', resource_id: mis.id, outcome: 'success' }]);
  });

  it('reports an endpoint that answers with an error, once, without retrying', async () => {
    server.answerWith(500);
    const before = server.received.length;
    try {
      const res = await testEvent(mis.id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        outcome: 'failed',
        status_code: 500,
        error: 'the callback answered HTTP 500',
      });
      expect(server.received.length).toBe(before + 1);
    } finally {
      server.answerWith(200);
    }
  });

  it('reports an endpoint that cannot be reached', async () => {
    const down = await deadOrigin();
    const other = await newClient(t, 'integrator');
    await setCallbacks(other.id, {
      callback_origins: [down],
      callback_uri: `${down}/dci`,
      allow_private_addresses: true,
    });
    const res = await testEvent(other.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ outcome: 'failed', status_code: null, error: expect.any(String) });
  });

  it('refuses, without sending, an endpoint on a private address the client may not use', async () => {
    const guarded = await newClient(t, 'integrator');
    await setCallbacks(guarded.id, {
      callback_origins: [server.origin],
      callback_uri: `${server.origin}/dci`,
    });
    const before = server.received.length;
    const res = await testEvent(guarded.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: 'refused',
      status_code: null,
      error: expect.stringMatching(/private/),
    });
    expect(server.received.length).toBe(before);
  });

  it('answers a clear problem when there is nothing to test or no right to test it', async () => {
    const bare = await newClient(t, 'integrator');
    const none = await testEvent(bare.id);
    expect(none.statusCode).toBe(409);
    expect(none.json().detail).toMatch(/no callback URI is registered/);

    expect((await testEvent('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await testEvent('not-a-uuid')).statusCode).toBe(400);
    expect((await testEvent(mis.id, mis.key)).statusCode).toBe(403);

    const suspended = await newClient(t, 'integrator');
    await setCallbacks(suspended.id, {
      callback_origins: [server.origin],
      callback_uri: `${server.origin}/dci`,
    });
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/clients/${suspended.id}`,
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: { disabled: true },
    });
    const disabled = await testEvent(suspended.id);
    expect(disabled.statusCode).toBe(409);
    expect(disabled.json().detail).toMatch(/disabled/);
  });
});
