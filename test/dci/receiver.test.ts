import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { spawnSpx } from '#test/spx';
import { asAdmin, dciPost, newClient, type TestClient } from '#test/clients';
import { deadOrigin, until } from './callback-server.ts';
import { asyncSearch, attemptsOf, exchangeOf, settled } from './exchanges.ts';
import { idType } from './harness.ts';

/**
 * Async DCI on one machine (docs/dci/async-local.md): `spx dci receiver` as an integrator runs it
 * (a real process), registered as a client's callback URI on a gateway listening on 127.0.0.1,
 * receives a test event and an async search answer, verifies them against the gateway's JWKS and
 * answers with DCI acknowledgements; a callback that is not ours is refused. The gateway runs with
 * SPX_DCI_CALLBACK_RETRIES=0: a failed callback is a dead letter after its one attempt.
 */
describe('spx dci receiver against a running gateway', () => {
  let t: TestApp;
  let receiver: ChildProcess;
  let receiverUrl = '';
  let dead = '';
  let mis: TestClient;
  const lines: string[] = [];
  const lineWith = (text: string) =>
    until(() => lines.find((line) => line.includes(text)), 20_000, `a receiver line with ${text}`);

  beforeAll(async () => {
    t = await createTestApp({ jobsEnabled: true, dciCallbackRetries: 0 });
    const gateway = await t.app.listen({ host: '127.0.0.1', port: 0 });
    receiver = spawnSpx(['dci', 'receiver', '--port', '0', '--gateway', gateway]);
    receiver.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
    receiverUrl = /listening on (\S+),/.exec(await lineWith('listening on'))![1]!;
    dead = await deadOrigin();
    mis = await newClient(t, 'integrator');
    const settings = await asAdmin(t, 'PUT', `/api/v1/clients/${mis.id}/dci`, {
      callback_origins: [receiverUrl, dead],
      callback_uri: receiverUrl,
      allow_private_addresses: true,
    });
    expect(settings.statusCode, settings.body).toBe(200);
    // Unsigned requests, to keep the story short (callbacks are signed whatever the policy).
    const policy = await asAdmin(t, 'PUT', `/api/v1/clients/${mis.id}/dci/signature`, {
      signature_policy: 'none',
    });
    expect(policy.statusCode, policy.body).toBe(200);
  });

  afterAll(async () => {
    receiver.kill('SIGTERM');
    await t.close();
  });

  it('prints the test event, verified, and acknowledges it', async () => {
    const sent = await asAdmin(t, 'POST', `/api/v1/clients/${mis.id}/dci/test-event`);
    expect(sent.json()).toMatchObject({ outcome: 'delivered', status_code: 200 });
    const line = await lineWith(sent.json<{ message_id: string }>().message_id);
    expect(line).toMatch(
      /POST \/registry\/notify {2}notify {2}message \S+ {2}verified yes {2}status succ, notify_event: 0$/,
    );
  });

  it('prints an async search answer, verified', async () => {
    const message = asyncSearch(undefined, idType('Group', 'UIN', 'UIN-NOBODY'));
    const accepted = await dciPost(t, '/dci/sr/registry/search', message, mis.key);
    expect(accepted.statusCode, accepted.body).toBe(202);
    const line = await lineWith('/registry/on-search');
    expect(line).toMatch(/on-search {2}message \S+ {2}verified yes {2}status succ, search_response: 1$/);
  });

  it('refuses a callback that is not signed by the gateway, with an ERR acknowledgement', async () => {
    const forged = await fetch(`${receiverUrl}/registry/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ header: { message_id: 'forged-1', action: 'notify' }, message: {} }),
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({
      message: { ack_status: 'ERR', error: { code: 'err.signature.missing' } },
    });
    expect(await lineWith('forged-1')).toContain('verified NO (err.signature.missing');
  });

  it('makes a failed callback a dead letter after SPX_DCI_CALLBACK_RETRIES retries (0 here)', async () => {
    const message = asyncSearch(`${dead}/dci`, idType('Group', 'UIN', 'UIN-NOBODY'));
    expect((await dciPost(t, '/dci/sr/registry/search', message, mis.key)).statusCode).toBe(202);
    const exchange = await exchangeOf(t.database.db, mis.id, message.message.transaction_id);
    const delivery = await settled(t.database.db, exchange.id, 'dead');
    expect(await attemptsOf(t.database.db, delivery.id)).toHaveLength(1);
  });
});
