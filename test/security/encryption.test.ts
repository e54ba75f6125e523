import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, FlattenedEncrypt, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DciClient, encryptMessage } from '@spx/dci-client';
import { createTestApp, type TestApp } from '#test/app';
import { startCallbackServer, until, type CallbackServer } from '../dci/callback-server.ts';
import { seedRegistry } from '../dci/fixtures.ts';
import { createDciApp, idType, searchMessage, type DciTestApp, type TestSigner } from '../dci/harness.ts';
import { asAdmin, newClient } from '#test/clients';

/**
 * DCI messages encrypted (spec EncryptedMessage: a JWE, ECDH-ES+A256KW / A256GCM to our P-256 key of
 * use "enc"): decrypted after the signature check, answered and called back encrypted to the
 * client's key, refused with err.encryption.invalid when they cannot be decrypted.
 */

const SENDER = 'pmt.example.org';

interface Wire {
  signature?: string;
  header: Record<string, unknown>;
  message?: Record<string, unknown>;
}

describe('DCI message encryption', () => {
  let t: DciTestApp;
  let origin: string;
  let callbacks: CallbackServer;
  let client: { id: string; key: string };
  let signer: TestSigner;
  let decryptionKey: KeyObject;
  let ours: JWK;

  /** A DCI client of `client`, encrypting or not, that decrypts with the client's key. */
  const dciClient = (encrypt: boolean) =>
    new DciClient({
      baseUrl: `${origin}/dci/sr`,
      apiKey: client.key,
      senderId: SENDER,
      senderUri: `${callbacks.origin}/cb`,
      signingKey: signer.signingKey(SENDER),
      registryKeys: `${origin}/.well-known/jwks.json`,
      encrypt,
      decryptionKey,
    });
  const setEncryption = (settings: Record<string, unknown>, id = client.id) =>
    t.asAdmin('PUT', `/api/v1/clients/${id}/dci/encryption`, settings);
  const registerKey = (body: Record<string, unknown>, id = client.id) =>
    t.asAdmin('POST', `/api/v1/clients/${id}/dci/keys`, body);
  /** A plain sync search, signed by the client. */
  const plainSearch = () => signer(searchMessage(idType('Group', 'UIN', 'UIN-A1')));

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
    callbacks = await startCallbackServer();
    client = await t.clientFor('integrator');
    await t.setCallbacks(client.id, { callback_origins: [callbacks.origin], allow_private_addresses: true });
    signer = await t.signerFor(client.id);
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    decryptionKey = pair.privateKey;
    const res = await registerKey({
      key_id: 'enc-1',
      use: 'enc',
      jwk: pair.publicKey.export({ format: 'jwk' }),
    });
    expect(res.statusCode, res.body).toBe(201);
    ours = (await t.app.inject({ url: '/.well-known/jwks.json' }))
      .json<{ keys: JWK[] }>()
      .keys.find((k) => k.use === 'enc')!;
  });
  afterAll(async () => {
    await callbacks.close();
    await t.close();
  });

  it('publishes our encryption key beside the signing key: P-256, ECDH-ES+A256KW, no private part', () => {
    expect(ours).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
      kid: expect.any(String),
      alg: 'ECDH-ES+A256KW',
      use: 'enc',
    });
  });

  it('registers clients’ encryption keys: EC or X25519 for ECDH-ES+A256KW, RSA for RSA-OAEP-256', async () => {
    const other = await t.clientFor('integrator');
    const x25519 = await registerKey(
      { use: 'enc', jwk: await exportJWK(generateKeyPairSync('x25519').publicKey) },
      other.id,
    );
    expect(x25519.statusCode, x25519.body).toBe(201);
    expect(x25519.json()).toMatchObject({
      use: 'enc',
      algorithm: 'ECDH-ES+A256KW',
      jwk: { crv: 'X25519', use: 'enc' },
    });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const pem = await registerKey(
      { key_id: 'rsa-enc', use: 'enc', pem: rsa.export({ format: 'pem', type: 'spki' }).toString() },
      other.id,
    );
    expect(pem.json()).toMatchObject({
      key_id: 'rsa-enc',
      use: 'enc',
      algorithm: 'RSA-OAEP-256',
      jwk: { kty: 'RSA', alg: 'RSA-OAEP-256' },
    });
    // A JWK that says use "enc" is read as an encryption key without being told.
    const implied = await registerKey(
      {
        jwk: {
          ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)),
          use: 'enc',
        },
      },
      other.id,
    );
    expect(implied.json()).toMatchObject({ use: 'enc', algorithm: 'ECDH-ES+A256KW' });
  });

  it.each([
    [
      'an Ed25519 key',
      async () => ({ use: 'enc', jwk: await exportJWK(generateKeyPairSync('ed25519').publicKey) }),
      /encryption keys must be EC .*, X25519 or RSA, not kty OKP crv Ed25519/,
    ],
    [
      'a private key',
      async () => ({
        use: 'enc',
        jwk: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
      }),
      /private or secret key/,
    ],
    [
      'a short RSA key',
      async () => ({
        use: 'enc',
        jwk: await exportJWK(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey),
      }),
      /2048 to 8192 bits, not 1024/,
    ],
    [
      'an alg that does not fit',
      async () => ({
        use: 'enc',
        jwk: {
          ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
          alg: 'RSA-OAEP-256',
        },
      }),
      /alg RSA-OAEP-256 does not fit this key \(use ECDH-ES\+A256KW\)/,
    ],
    [
      'an EC key to sign with',
      async () => ({
        use: 'sig',
        jwk: await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
      }),
      /only Ed25519 .* and RSA keys are accepted/,
    ],
    [
      'an unknown use',
      async () => ({ use: 'wrap', jwk: await exportJWK(generateKeyPairSync('x25519').publicKey) }),
      /use/,
    ],
  ])('refuses %s with a 400 problem, registering nothing', async (_name, body, detail) => {
    const before = (await t.asAdmin('GET', `/api/v1/clients/${client.id}/dci/keys`)).json().items.length;
    const res = await registerKey(await body());
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().errors)).toMatch(detail);
    expect((await t.asAdmin('GET', `/api/v1/clients/${client.id}/dci/keys`)).json().items).toHaveLength(
      before,
    );
  });

  it('decrypts a signed, encrypted sync search and answers it encrypted to the client, signed over the ciphertext', async () => {
    const request = (await dciClient(true).envelope(
      'search',
      searchMessage(idType('Group', 'UIN', 'UIN-A1')).message,
      1,
    )) as unknown as Wire;
    expect(request.header['is_msg_encrypted']).toBe(true);
    expect(Object.keys(request.message!).sort()).toEqual([
      'ciphertext',
      'encrypted_key',
      'header',
      'iv',
      'protected',
      'tag',
    ]);
    expect(request.message!['header']).toEqual({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: ours.kid });
    expect(JSON.stringify(request)).not.toContain('UIN-A1');

    const res = await t.search('sr', request, client.key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).not.toMatch(/UIN-A1|Amina/);
    const answer = res.json<Wire>();
    expect(answer.header['is_msg_encrypted']).toBe(true);
    expect(answer.message!['header']).toEqual({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'enc-1' });
    // The client verifies our signature over the encrypted form, then decrypts.
    const opened = await dciClient(true).receive<{ search_response: { status: string; data: unknown }[] }>(
      answer,
    );
    expect(opened.message!.search_response[0]).toMatchObject({ status: 'succ' });
    expect(JSON.stringify(opened.message)).toContain('UIN-A1');

    const easy = await dciClient(true).syncSearch([{ criteria: idType('Group', 'UIN', 'UIN-B1') }]);
    expect(easy.header.is_msg_encrypted).toBe(true);
    expect(easy.message!.search_response[0]).toMatchObject({
      status: 'succ',
      pagination: { total_count: 1 },
    });
  });

  it('calls back an encrypted async search encrypted; its status is answered encrypted even when asked in plain', async () => {
    const encrypted = dciClient(true);
    const transactionId = randomUUID();
    const ack = await encrypted.search([{ criteria: idType('Group', 'UIN', 'UIN-B1') }], transactionId);
    expect(ack.message.ack_status).toBe('ACK');
    const [callback] = await callbacks.waitFor(1);
    expect(callback!.body['header']).toMatchObject({ action: 'on-search', is_msg_encrypted: true });
    expect(JSON.stringify(callback!.body)).not.toMatch(/UIN-B1|Baraka/);
    const received = await encrypted.receive<{ correlation_id: string }>(callback!.body);
    expect(received.message!.correlation_id).toBe(ack.message.correlation_id);

    const status = await dciClient(false).syncTxnStatus(transactionId);
    expect(status.header.is_msg_encrypted).toBe(true);
    expect(JSON.stringify(status)).toContain('UIN-B1'); // decrypted by the client
  });

  it('encrypts everything sent to a client whose settings say encrypt_messages, and can require encrypted requests', async () => {
    const set = await setEncryption({ encryption_required: false, encrypt_messages: true });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({
      client_id: client.id,
      encryption_required: false,
      encrypt_messages: true,
      encryption_key_id: 'enc-1',
      updated_at: expect.any(String),
    });
    const plainAsked = await t.search('sr', plainSearch(), client.key);
    expect(plainAsked.statusCode).toBe(200);
    expect(plainAsked.json<Wire>().header['is_msg_encrypted']).toBe(true);
    expect(plainAsked.body).not.toContain('UIN-A1');

    expect((await setEncryption({ encryption_required: true, encrypt_messages: false })).statusCode).toBe(
      200,
    );
    const refused = await t.search('sr', plainSearch(), client.key);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([
      { code: 'err.encryption.invalid', message: expect.stringMatching(/^your messages must be encrypted/) },
    ]);
    const asyncRefused = await t.post('/dci/sr/registry/search', plainSearch(), client.key);
    expect(asyncRefused.json().message.error.code).toBe('err.encryption.invalid');
    expect(
      (await dciClient(true).syncSearch([{ criteria: idType('Group', 'UIN', 'UIN-A1') }])).header
        .is_msg_encrypted,
    ).toBe(true);
    expect((await setEncryption({ encryption_required: false, encrypt_messages: false })).statusCode).toBe(
      200,
    );
  });

  it('refuses encryption settings it cannot honour, or malformed, changing nothing', async () => {
    const keyless = await t.clientFor('integrator');
    const res = await setEncryption({ encryption_required: false, encrypt_messages: true }, keyless.id);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      {
        pointer: '/encrypt_messages',
        detail: 'needs a usable public key of use "enc" registered for the client first',
      },
    ]);
    expect((await setEncryption({ encrypt_messages: true }, keyless.id)).statusCode).toBe(400);
    expect(
      (await setEncryption({ encryption_required: 'yes', encrypt_messages: false }, keyless.id)).statusCode,
    ).toBe(400);
    expect((await t.asAdmin('GET', `/api/v1/clients/${keyless.id}/dci/encryption`)).json()).toMatchObject({
      encryption_required: false,
      encrypt_messages: false,
      encryption_key_id: null,
    });
    const denied = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/clients/${keyless.id}/dci/encryption`,
      headers: { authorization: `Bearer ${client.key}` },
      payload: { encryption_required: false, encrypt_messages: false },
    });
    expect(denied.statusCode).toBe(403);
  });

  describe('what cannot be decrypted is refused with err.encryption.invalid, and not recorded', () => {
    const encryptedTo = async (to: {
      kid: string;
      key: KeyObject;
      algorithm?: 'ECDH-ES+A256KW' | 'RSA-OAEP-256';
    }) => {
      const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
      message.header['is_msg_encrypted'] = true;
      const encrypted = await encryptMessage(message.message, { algorithm: 'ECDH-ES+A256KW', ...to });
      return { ...message, message: encrypted } as unknown as Wire;
    };
    const ourKey = () => createPublicKey({ key: ours as never, format: 'jwk' });
    const refusal = async (body: Wire, key = client.key) => {
      const res = await t.search('sr', signer(body), key);
      expect(res.statusCode, res.body).toBe(400);
      const exchanges = await t.database.db
        .selectFrom('dci_exchanges')
        .select('id')
        .where('message_id', '=', String(body.header['message_id']))
        .execute();
      expect(exchanges).toEqual([]);
      const errors = res.json<{ errors: { code: string; message: string }[] }>().errors;
      expect(errors).toHaveLength(1);
      expect(errors[0]!.code).toBe('err.encryption.invalid');
      return errors[0]!.message;
    };

    it('a kid that is not ours', async () => {
      expect(await refusal(await encryptedTo({ kid: 'someone-else', key: ourKey() }))).toMatch(
        /kid someone-else is not one of our encryption keys: read \/.well-known\/jwks.json again$/,
      );
    });

    it('a ciphertext altered on the way', async () => {
      const body = await encryptedTo({ kid: ours.kid!, key: ourKey() });
      const ciphertext = String(body.message!['ciphertext']);
      body.message!['ciphertext'] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
      expect(await refusal(body)).toMatch(/does not decrypt with the key its kid names/);
    });

    it('a message encrypted to another key under our kid', async () => {
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
      expect(await refusal(await encryptedTo({ kid: ours.kid!, key: stranger }))).toMatch(/does not decrypt/);
    });

    it('an algorithm we do not take', async () => {
      const body = await encryptedTo({ kid: ours.kid!, key: ourKey() });
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      body.message = (await new FlattenedEncrypt(new TextEncoder().encode('{}'))
        .setUnprotectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: ours.kid! })
        .encrypt(rsa)) as unknown as Record<string, unknown>;
      expect(await refusal(body)).toMatch(/only ECDH-ES\+A256KW with A256GCM is accepted/);
    });

    it('a flag without an EncryptedMessage', async () => {
      const body = plainSearch() as unknown as Wire;
      body.header['is_msg_encrypted'] = true;
      expect(await refusal(signer(body))).toMatch(
        /message\.(header|ciphertext|encrypted_key|iv|tag) must be/,
      );
    });

    it('an encrypted message from a client with no key to encrypt the answer to', async () => {
      const keyless = await t.clientFor('integrator');
      const keylessSigner = await t.signerFor(keyless.id);
      const body = await encryptedTo({ kid: ours.kid!, key: ourKey() });
      const res = await t.search('sr', keylessSigner(body), keyless.key);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].message).toMatch(/no encryption key \(use "enc"\) is registered for you/);
    });
  });

  it('does not call back in the clear a client that must be encrypted to but has no key left: the delivery is refused', async () => {
    const other = await t.clientFor('integrator');
    await t.setCallbacks(other.id, { callback_origins: [callbacks.origin], allow_private_addresses: true });
    const otherSigner = await t.signerFor(other.id);
    const pair = generateKeyPairSync('x25519');
    expect(
      (await registerKey({ key_id: 'enc-x', use: 'enc', jwk: await exportJWK(pair.publicKey) }, other.id))
        .statusCode,
    ).toBe(201);
    expect(
      (await setEncryption({ encryption_required: false, encrypt_messages: true }, other.id)).statusCode,
    ).toBe(200);
    expect((await t.asAdmin('DELETE', `/api/v1/clients/${other.id}/dci/keys/enc-x`)).statusCode).toBe(200);

    const before = callbacks.received.length;
    const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
    message.header['sender_uri'] = `${callbacks.origin}/other`;
    const ack = await t.post('/dci/sr/registry/search', otherSigner(message), other.key);
    expect(ack.statusCode, ack.body).toBe(202);
    const delivery = await until(
      async () =>
        t.database.db
          .selectFrom('dci_deliveries')
          .select(['status', 'last_error'])
          .where('client_id', '=', other.id)
          .where('status', '=', 'refused')
          .executeTakeFirst(),
      15_000,
      'the refused delivery',
    );
    expect(delivery.last_error).toMatch(
      /must be encrypted and the client has no usable encryption key: it is not sent/,
    );
    expect(callbacks.received.slice(before).filter((c) => c.path === '/other')).toEqual([]);
  });
});

describe('rotating our encryption key', () => {
  let t: TestApp;
  let client: { key: string };

  beforeAll(async () => {
    t = await createTestApp();
    await seedRegistry(t.database.db);
    const integrator = await newClient(t);
    client = { key: integrator.key };
    const registered = await asAdmin(t, 'POST', `/api/v1/clients/${integrator.id}/dci/keys`, {
      key_id: 'enc-1',
      use: 'enc',
      jwk: await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    });
    expect(registered.statusCode, registered.body).toBe(201);
  });
  afterAll(() => t.close());

  const ourEncryptionKey = async () =>
    (await t.get('/.well-known/jwks.json')).json<{ keys: JWK[] }>().keys.filter((k) => k.use === 'enc');
  const searchEncryptedTo = async (jwk: JWK) => {
    const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
    message.header['is_msg_encrypted'] = true;
    const key = createPublicKey({ key: jwk as never, format: 'jwk' });
    const body = {
      ...message,
      message: await encryptMessage(message.message, { kid: jwk.kid!, key, algorithm: 'ECDH-ES+A256KW' }),
    };
    return t.app.inject({
      method: 'POST',
      url: '/dci/sr/registry/sync/search',
      headers: { authorization: `Bearer ${client.key}` },
      payload: body,
    });
  };

  it('publishes the new key alone, and still decrypts for the old one until its grace period ends', async () => {
    const [old] = await ourEncryptionKey();
    expect((await asAdmin(t, 'POST', '/api/v1/gateway-keys/dci-encryption/rotate', {})).statusCode).toBe(200);
    const published = await ourEncryptionKey();
    expect(published).toHaveLength(1);
    expect(published[0]!.kid).not.toBe(old!.kid);
    // A client that read our JWKS before the rotation.
    expect((await searchEncryptedTo(old!)).statusCode).toBe(200);
    expect((await searchEncryptedTo(published[0]!)).statusCode).toBe(200);

    expect(
      (await asAdmin(t, 'POST', '/api/v1/gateway-keys/dci-encryption/rotate', { grace_hours: 0 })).statusCode,
    ).toBe(200);
    const gone = await searchEncryptedTo(published[0]!);
    expect(gone.statusCode).toBe(400);
    expect(gone.json().errors[0]).toMatchObject({
      code: 'err.encryption.invalid',
      message: expect.stringMatching(/is not one of our encryption keys/),
    });
    // The first key's grace period (24 h) runs on.
    expect((await searchEncryptedTo(old!)).statusCode).toBe(200);
  });
});
