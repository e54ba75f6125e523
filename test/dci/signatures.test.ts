import { createPublicKey } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { DEFAULT_SIGNATURE_LIMITS, verifyEnvelope } from '@spx/dci-client';
import { startJwksServer } from '#test/jwks-server';
import { startCallbackServer, type CallbackServer } from './callback-server.ts';
import { asyncSearch, exchangeOf, settled } from './exchanges.ts';
import { seedRegistry } from './fixtures.ts';
import {
  createDciApp,
  idType,
  newSigner,
  searchMessage,
  type DciTestApp,
  type TestMessage,
  type TestSigner,
} from './harness.ts';

const ASYNC = '/dci/sr/registry/search';
const now = () => Math.floor(Date.now() / 1000);

describe('DCI message signatures: incoming messages verified against the sender’s keys', () => {
  let t: DciTestApp;
  let client: { id: string; key: string };
  let sign: TestSigner;
  let callbacks: CallbackServer;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    callbacks = await startCallbackServer();
    client = await t.clientFor('integrator');
    await t.setCallbacks(client.id, { callback_origins: [callbacks.origin], allow_private_addresses: true });
    sign = await t.signerFor(client.id);
  });
  afterAll(async () => {
    await t.close();
    await callbacks.close();
  });

  const message = () => asyncSearch(`${callbacks.origin}/on-search`, idType('Group', 'UIN', 'UIN-A1'));
  const post = (body: unknown, key = client.key) => t.post(ASYNC, body, key);

  /** An ERR acknowledgement (spec-valid) with HTTP 401 and this code; its message is returned. */
  const refused = (res: LightMyRequestResponse, code: string): string => {
    expect(res.statusCode, res.body).toBe(401);
    expect(validateResponse({ registry: 'social', path: '/registry/search' }, res.json())).toEqual([]);
    const { message: ack } = res.json<{
      message: { ack_status: string; error: { code: string; message: string } };
    }>();
    expect(ack).toMatchObject({ ack_status: 'ERR', error: { code } });
    return ack.error.message;
  };

  it('accepts an async message signed with a registered Ed25519 key', async () => {
    const res = await post(sign(message()));
    expect(res.statusCode, res.body).toBe(202);
  });

  it('accepts one signed with a registered RSA key (rsa-sha256)', async () => {
    const rsa = await t.signerFor(client.id, 'rsa-sha256');
    const signed = rsa(message());
    expect(signed.signature).toMatch(
      /kidId="spmis\.example\.org\|test-[0-9a-f]+\|rsa-sha256", algorithm="rsa-sha256"/,
    );
    expect((await post(signed)).statusCode).toBe(202);
  });

  it('refuses a message changed after signing (err.signature.invalid) and records nothing', async () => {
    const signed = sign(message());
    signed.message.search_request[0]!['reference_id'] = 'ref-changed';
    expect(refused(await post(signed), 'err.signature.invalid')).toMatch(/does not match/);
    const recorded = await t.database.db
      .selectFrom('dci_exchanges')
      .select('id')
      .where('transaction_id', '=', signed.message.transaction_id)
      .execute();
    expect(recorded).toEqual([]);
  });

  it('refuses a signature made with a key nobody registered', async () => {
    expect(refused(await post(newSigner()(message())), 'err.signature.invalid')).toMatch(/not registered/);
  });

  it("refuses a signature made with another client's registered key", async () => {
    const other = await t.clientFor('integrator');
    const theirs = await t.signerFor(other.id);
    expect((await post(theirs(message()), other.key)).statusCode).not.toBe(401);
    expect(refused(await post(theirs(message())), 'err.signature.invalid')).toMatch(/not registered/);
  });

  it('refuses a revoked key at once', async () => {
    const revoked = await t.signerFor(client.id);
    expect((await post(revoked(message()))).statusCode).toBe(202);
    const res = await t.asAdmin('DELETE', `/api/v1/clients/${client.id}/dci/keys/${revoked.keyId}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().revoked_at).toEqual(expect.any(String));
    expect(refused(await post(revoked(message())), 'err.signature.invalid')).toMatch(/revoked/);
  });

  it('refuses a key past its expiry', async () => {
    const expiring = await t.signerFor(client.id);
    expect((await post(expiring(message()))).statusCode).toBe(202);
    await t.database.db
      .updateTable('dci_client_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', client.id)
      .where('key_id', '=', expiring.keyId)
      .execute();
    expect(refused(await post(expiring(message())), 'err.signature.invalid')).toMatch(/key .* expired/);
  });

  it.each([
    ['expired', { created: now() - 7200, expires: now() - 3600 }, /expired/],
    ['created in the future', { created: now() + 3600 }, /in the future/],
    ['valid for more than a day', { created: now(), expires: now() + 2 * 86_400 }, /at most 86400 s/],
    ['expiring before it was created', { created: now(), expires: now() - 1 }, /expired|after created/],
  ])('refuses a signature %s', async (_name, times, reason) => {
    expect(refused(await post(sign(message(), times)), 'err.signature.invalid')).toMatch(reason);
  });

  it('refuses a signature whose kid names another sender than the header, or another algorithm', async () => {
    const signed = sign(message());
    const otherSender = {
      ...signed,
      signature: signed.signature.replace('spmis.example.org|', 'crvs.example.org|'),
    };
    expect(refused(await post(otherSender), 'err.signature.invalid')).toMatch(
      /names sender crvs\.example\.org/,
    );
    const otherAlgorithm = {
      ...signed,
      signature: signed.signature.replace('algorithm="ed25519"', 'algorithm="rsa-sha256"'),
    };
    expect(refused(await post(otherAlgorithm), 'err.signature.invalid')).toMatch(
      /the algorithm is rsa-sha256/,
    );
  });

  it.each([
    ['garbage', 'not a signature'],
    [
      'the spec example placeholder',
      'Signature: namespace="spdci", kidId="spmis.example.org|k|ed25519", algorithm="ed25519", created="1", expires="2", headers="(created) (expires) digest", signature="<base64>"',
    ],
    [
      'other covered headers',
      'kidId="spmis.example.org|k|ed25519", algorithm="ed25519", created="1", expires="2", headers="digest", signature="AAAA"',
    ],
    [
      'a repeated parameter',
      'kidId="a|b|ed25519", kidId="a|b|ed25519", algorithm="ed25519", created="1", expires="2", headers="(created) (expires) digest", signature="AAAA"',
    ],
    [
      'a kid without algorithm',
      'kidId="spmis.example.org|k", algorithm="ed25519", created="1", expires="2", headers="(created) (expires) digest", signature="AAAA"',
    ],
    ['a number', 42],
  ])('refuses an unreadable signature: %s', async (_name, signature) => {
    refused(await post({ ...message(), signature }), 'err.signature.invalid');
  });

  it('answers an unsigned async message with err.signature.missing (the default policy)', async () => {
    const unsigned: TestMessage = message();
    delete unsigned.signature;
    expect(refused(await post(unsigned), 'err.signature.missing')).toMatch(/must be signed/);
    expect(refused(await post({ ...unsigned, signature: '' }), 'err.signature.missing')).toMatch(
      /must be signed/,
    );
  });

  it('does not require signatures on sync endpoints by default, but does under the policy "all"', async () => {
    const strict = await t.clientFor('integrator');
    const unsigned = () => {
      const m = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
      delete m.signature;
      return m;
    };
    expect((await t.search('sr', unsigned(), strict.key)).statusCode).toBe(200);
    await t.setSignature(strict.id, { signature_policy: 'all' });
    const res = await t.search('sr', unsigned(), strict.key);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ errors: [{ code: 'err.signature.missing', message: expect.any(String) }] });
    const signStrict = await t.signerFor(strict.id);
    expect((await t.search('sr', signStrict(unsigned()), strict.key)).statusCode).toBe(200);
  });

  it('accepts unsigned async messages from a client with the policy "none"', async () => {
    const relaxed = await t.clientFor('integrator');
    await t.setCallbacks(relaxed.id, { callback_origins: [callbacks.origin], allow_private_addresses: true });
    await t.setSignature(relaxed.id, { signature_policy: 'none' });
    const unsigned: TestMessage = message();
    delete unsigned.signature;
    expect((await post(unsigned, relaxed.key)).statusCode).toBe(202);
  });

  describe('header.message_ts', () => {
    const at = (m: TestMessage, secondsFromNow: number) => {
      m.header['message_ts'] = new Date(Date.now() + secondsFromNow * 1000).toISOString();
      return m;
    };

    it('refuses a message sent more than a day ago or in the future (rjct.message_ts.invalid), leaving its id free', async () => {
      const old = at(searchMessage(idType('Group', 'UIN', 'UIN-A1')), -2 * 86_400);
      const res = await t.search('sr', old, client.key);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0]).toEqual({
        code: 'err.request.bad',
        message: expect.stringMatching(/^rjct\.message_ts\.invalid: header\.message_ts is \d+ s old/),
      });
      const future = await t.search(
        'sr',
        at(searchMessage(idType('Group', 'UIN', 'UIN-A1')), 3600),
        client.key,
      );
      expect(future.json().errors[0].message).toMatch(/^rjct\.message_ts\.invalid: .* in the future/);
      expect((await t.search('sr', at(old, 0), client.key)).statusCode).toBe(200);
    });

    it('answers it with an ERR ack on the async endpoints', async () => {
      const res = await post(sign(at(message(), -2 * 86_400)));
      expect(res.statusCode).toBe(400);
      expect(res.json().message.error).toEqual({
        code: 'err.request.bad',
        message: expect.stringMatching(/^rjct\.message_ts\.invalid: /),
      });
    });

    it('tolerates a few minutes of clock skew', async () => {
      expect((await post(sign(at(message(), 120)))).statusCode).toBe(202);
    });
  });

  describe("keys at the client's JWKS URL", () => {
    let jwks: { origin: string; keys: JWK[]; calls: number; close(): Promise<void> };
    beforeAll(async () => {
      jwks = await startJwksServer();
    });
    afterAll(() => jwks.close());

    it('verifies with a key published at the JWKS URL, fetched through the SSRF guard', async () => {
      const publisher = await t.clientFor('integrator');
      const published = newSigner();
      jwks.keys.push({ ...(published.publicKey.export({ format: 'jwk' }) as JWK), kid: published.keyId });
      await t.setCallbacks(publisher.id, {
        callback_origins: [callbacks.origin, jwks.origin],
        allow_private_addresses: true,
      });
      await t.setSignature(publisher.id, { jwks_uri: `${jwks.origin}/jwks.json` });
      expect((await post(published(message()), publisher.key)).statusCode).toBe(202);
      expect((await post(published(message()), publisher.key)).statusCode).toBe(202);
      expect(jwks.calls).toBe(1); // cached
      expect(refused(await post(newSigner()(message()), publisher.key), 'err.signature.invalid')).toMatch(
        /not registered/,
      );
    });

    it('refuses to fetch a JWKS URL that now resolves to a private address the client may not use', async () => {
      const guarded = await t.clientFor('integrator');
      await t.setCallbacks(guarded.id, {
        callback_origins: [callbacks.origin, jwks.origin],
        allow_private_addresses: true,
      });
      await t.setSignature(guarded.id, { jwks_uri: `${jwks.origin}/jwks.json` });
      await t.setCallbacks(guarded.id, { callback_origins: [callbacks.origin, jwks.origin] });
      const calls = jwks.calls;
      const reason = refused(await post(newSigner()(message()), guarded.key), 'err.signature.invalid');
      expect(reason).toMatch(/JWKS could not be read: .*private or loopback/);
      expect(jwks.calls).toBe(calls);
    });
  });

  describe('our own signatures', () => {
    let ours: JWK[];
    beforeAll(async () => {
      const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      expect(res.statusCode).toBe(200);
      ours = res.json().keys;
    });

    /** Verifies an envelope we sent against /.well-known/jwks.json. */
    const verifyOurs = (envelope: {
      signature?: unknown;
      header: Record<string, unknown>;
      message?: unknown;
    }) =>
      verifyEnvelope(envelope, {
        required: true,
        now: new Date(),
        limits: DEFAULT_SIGNATURE_LIMITS,
        findKey: async (kid) => {
          expect(kid.senderId).toBe('spx');
          const jwk = ours.find((k) => k.kid === kid.keyId);
          expect(jwk).toBeDefined();
          return createPublicKey({ key: jwk as never, format: 'jwk' });
        },
      });

    it('publishes one Ed25519 signing key, without any private part', () => {
      // Beside it, our encryption key (use enc: test/security/encryption.test.ts).
      expect(ours.filter((jwk) => jwk.use === 'sig')).toEqual([
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: expect.any(String),
          kid: expect.any(String),
          alg: 'EdDSA',
          use: 'sig',
        },
      ]);
    });

    it('signs sync answers, verifiably with the published key', async () => {
      const res = await t.search('sr', searchMessage(idType('Group', 'UIN', 'UIN-A1')), client.key);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.signature).toMatch(
        new RegExp(`^Signature: namespace="spdci", kidId="spx\\|${ours[0]!.kid}\\|ed25519"`),
      );
      expect(body.header.sender_id).toBe('spx');
      await verifyOurs(body);
      await expect(
        verifyOurs({ ...body, message: { ...body.message, transaction_id: 'x' } }),
      ).rejects.toMatchObject({
        code: 'err.signature.invalid',
      });
    });

    it('signs callbacks, verifiably with the published key', async () => {
      const sent = sign(asyncSearch(`${callbacks.origin}/signed-callback`, idType('Group', 'UIN', 'UIN-A1')));
      expect((await post(sent)).statusCode).toBe(202);
      await settled(
        t.database.db,
        (await exchangeOf(t.database.db, client.id, sent.message.transaction_id)).id,
        'delivered',
      );
      const call = callbacks.received.find((c) => c.path === '/signed-callback')!;
      await verifyOurs(call.body as { header: Record<string, unknown> });
    });
  });
});
