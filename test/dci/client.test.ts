import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DciClient, DciClientError } from '@spx/dci-client';
import { validateResponse } from '#dci/spec';
import { startCallbackServer, type CallbackServer } from './callback-server.ts';
import { seedRegistry } from './fixtures.ts';
import { createDciApp, idType, type DciTestApp } from './harness.ts';

/**
 * The typed DCI client against the gateway listening on 127.0.0.1: it signs what it sends, and
 * verifies what the registry answers and calls back with against the registry's published JWKS.
 */
describe('DCI client', () => {
  let t: DciTestApp;
  let origin: string;
  let callbacks: CallbackServer;
  let client: DciClient;
  let clientId: string;
  let apiKey: string;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
    callbacks = await startCallbackServer();
    ({ id: clientId, key: apiKey } = await t.clientFor('integrator'));
    await t.setCallbacks(clientId, { callback_origins: [callbacks.origin], allow_private_addresses: true });
    const signer = await t.signerFor(clientId);
    client = new DciClient({
      baseUrl: `${origin}/dci/sr`,
      apiKey,
      senderId: 'pmt.example.org',
      senderUri: `${callbacks.origin}/cb`,
      signingKey: signer.signingKey('pmt.example.org'),
      registryKeys: `${origin}/.well-known/jwks.json`,
    });
  });
  afterAll(async () => {
    await callbacks.close();
    await t.close();
  });

  it('sends a signed sync search and verifies the signed answer', async () => {
    const answer = await client.syncSearch([{ criteria: idType('Group', 'UIN', 'UIN-A1') }]);
    expect(validateResponse({ registry: 'social', path: '/registry/sync/search' }, answer)).toEqual([]);
    expect(answer.signature).toMatch(/^Signature:|kidId=/);
    expect(answer.message?.search_response[0]).toMatchObject({
      status: 'succ',
      pagination: { total_count: 1 },
    });
  });

  it('sends a signed async search and verifies the on-search callback; a tampered one is refused', async () => {
    const ack = await client.search([{ criteria: idType('Group', 'UIN', 'UIN-B1') }]);
    expect(ack.message.ack_status).toBe('ACK');
    const [callback] = await callbacks.waitFor(1);
    expect(callback!.path).toBe('/cb');
    const received = await client.receive<{ correlation_id: string }>(callback!.body);
    expect(received.message?.correlation_id).toBe(ack.message.correlation_id);

    const tampered = structuredClone(callback!.body) as { header: { total_count: number } };
    tampered.header.total_count += 1;
    await expect(client.receive(tampered)).rejects.toMatchObject({ code: 'err.signature.invalid' });
  });

  it('refuses an answer signed by a key the registry does not publish', async () => {
    const stranger = await exportJWK(generateKeyPairSync('ed25519').publicKey);
    const wary = new DciClient({
      baseUrl: `${origin}/dci/sr`,
      apiKey,
      senderId: 'pmt.example.org',
      registryKeys: { keys: [{ ...stranger, kid: 'other', alg: 'EdDSA' }] },
    });
    await expect(wary.syncSearch([{ criteria: idType('Group', 'UIN', 'UIN-A1') }])).rejects.toMatchObject({
      code: 'err.signature.invalid',
    });
  });

  it('reports what the registry refused: the HTTP status and the DCI error body', async () => {
    const unsigned = new DciClient({
      baseUrl: `${origin}/dci/sr`,
      apiKey,
      senderId: 'pmt.example.org',
      senderUri: `${callbacks.origin}/cb`,
    });
    const refusal = await unsigned
      .search([{ criteria: idType('Group', 'UIN', 'UIN-A1') }])
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DciClientError);
    expect(refusal).toMatchObject({
      statusCode: 401,
      body: { message: { ack_status: 'ERR', error: { code: 'err.signature.missing' } } },
    });
    const badKey = new DciClient({ baseUrl: `${origin}/dci/sr`, apiKey: 'spx_nope', senderId: 'x' });
    await expect(badKey.syncSearch([{ criteria: idType('Group', 'UIN', 'UIN-A1') }])).rejects.toMatchObject({
      statusCode: 401,
    });
  });
});
