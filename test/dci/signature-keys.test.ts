import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDciApp, type DciTestApp } from './harness.ts';

const jwkOf = (key: { export(options: { format: 'jwk' }): unknown }) =>
  key.export({ format: 'jwk' }) as Record<string, unknown>;
const ed25519 = () => generateKeyPairSync('ed25519');

describe("a client's DCI signature keys and policy (admin routes)", () => {
  let t: DciTestApp;
  let client: { id: string; key: string };
  const keys = (id = client.id) => `/api/v1/clients/${id}/dci/keys`;

  beforeAll(async () => {
    t = await createDciApp();
    client = await t.clientFor('integrator');
  });
  afterAll(() => t.close());

  it('registers an Ed25519 JWK under its thumbprint, public members only, and audits it', async () => {
    const { publicKey } = ed25519();
    const res = await t.asAdmin('POST', keys(), { jwk: jwkOf(publicKey) });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toEqual({
      client_id: client.id,
      key_id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      use: 'sig',
      algorithm: 'ed25519',
      jwk: {
        kty: 'OKP',
        crv: 'Ed25519',
        x: jwkOf(publicKey)['x'],
        kid: res.json().key_id,
        alg: 'EdDSA',
        use: 'sig',
      },
      created_at: expect.any(String),
      expires_at: null,
      revoked_at: null,
    });
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_id', 'outcome'])
      .where('action', '=', 'client.dci_key.create')
      .execute();
    expect(audit).toEqual([{ action: 'client.dci_key.create', resource_id: client.id, outcome: 'success' }]);
  });

  it('registers an RSA key sent as an SPKI PEM, with a key id and an expiry of its own', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const res = await t.asAdmin('POST', keys(), {
      key_id: 'rsa-2025',
      pem: publicKey.export({ type: 'spki', format: 'pem' }),
      expires_at: expires,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      key_id: 'rsa-2025',
      algorithm: 'rsa-sha256',
      jwk: { kty: 'RSA', kid: 'rsa-2025', alg: 'RS256', use: 'sig' },
      expires_at: expires,
    });
    const list = await t.asAdmin('GET', keys());
    expect(list.json().items.map((k: { key_id: string }) => k.key_id)).toContain('rsa-2025');
  });

  it("takes the key id from the JWK's kid when none is given", async () => {
    const res = await t.asAdmin('POST', keys(), { jwk: { ...jwkOf(ed25519().publicKey), kid: 'from-jwk' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().key_id).toBe('from-jwk');
  });

  it.each([
    ['a private JWK', () => ({ jwk: jwkOf(ed25519().privateKey) }), '/jwk', /private/],
    [
      'a private PEM',
      () => ({ pem: ed25519().privateKey.export({ type: 'pkcs8', format: 'pem' }) }),
      '/pem',
      /private/,
    ],
    [
      'an EC key',
      () => ({ jwk: jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey) }),
      '/jwk',
      /only Ed25519/,
    ],
    [
      'an X25519 key',
      () => ({ jwk: jwkOf(generateKeyPairSync('x25519').publicKey) }),
      '/jwk',
      /only Ed25519/,
    ],
    [
      'an RSA key of 1024 bits',
      () => ({ jwk: jwkOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey) }),
      '/jwk',
      /2048/,
    ],
    ['a secret key', () => ({ jwk: { kty: 'oct', k: 'c2VjcmV0' } }), '/jwk', /secret/],
    ['a broken JWK', () => ({ jwk: { kty: 'OKP', crv: 'Ed25519', x: '!!' } }), '/jwk', /cannot be read/],
    [
      'a JWK whose alg does not fit',
      () => ({ jwk: { ...jwkOf(ed25519().publicKey), alg: 'RS256' } }),
      '/jwk',
      /alg/,
    ],
    ['not a PEM', () => ({ pem: 'hello' }), '/pem', /SPKI/],
    ['both a JWK and a PEM', () => ({ jwk: jwkOf(ed25519().publicKey), pem: 'x' }), '/jwk', /exactly one/],
    ['neither', () => ({ key_id: 'nothing' }), '/jwk', /exactly one/],
    [
      'an expiry in the past',
      () => ({ jwk: jwkOf(ed25519().publicKey), expires_at: '2020-01-01T00:00:00Z' }),
      '/expires_at',
      /future/,
    ],
    ['a key id with a |', () => ({ key_id: 'a|b', jwk: jwkOf(ed25519().publicKey) }), '/key_id', /pattern/],
    [
      "a key id that differs from the JWK's kid",
      () => ({ key_id: 'one', jwk: { ...jwkOf(ed25519().publicKey), kid: 'other' } }),
      '/key_id',
      /differs/,
    ],
    ['an unknown property', () => ({ jwk: jwkOf(ed25519().publicKey), private: true }), '/private', /./],
  ])(
    'refuses %s with a 400 problem naming the field, storing nothing',
    async (_name, body, pointer, detail) => {
      const before = (await t.asAdmin('GET', keys())).json().items.length;
      const res = await t.asAdmin('POST', keys(), body());
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const errors = res.json().errors as { pointer: string; detail: string }[];
      expect(errors.find((e) => e.pointer === pointer)?.detail, JSON.stringify(errors)).toMatch(detail);
      expect((await t.asAdmin('GET', keys())).json().items).toHaveLength(before);
    },
  );

  it('refuses a key id the client already used, even once revoked (409)', async () => {
    const first = await t.asAdmin('POST', keys(), { key_id: 'once', jwk: jwkOf(ed25519().publicKey) });
    expect(first.statusCode).toBe(201);
    expect((await t.asAdmin('DELETE', `${keys()}/once`)).statusCode).toBe(200);
    const again = await t.asAdmin('POST', keys(), { key_id: 'once', jwk: jwkOf(ed25519().publicKey) });
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toMatch(/already registered/);
  });

  it("revokes a client's own keys only: another client's key id is not found", async () => {
    const other = await t.clientFor('integrator');
    expect(
      (await t.asAdmin('POST', keys(other.id), { key_id: 'theirs', jwk: jwkOf(ed25519().publicKey) }))
        .statusCode,
    ).toBe(201);
    expect((await t.asAdmin('DELETE', `${keys()}/theirs`)).statusCode).toBe(404);
    const theirs = (await t.asAdmin('GET', keys(other.id))).json().items;
    expect(theirs).toEqual([expect.objectContaining({ key_id: 'theirs', revoked_at: null })]);
  });

  it('answers 404 for an unknown client, 401 without a key and 403 for a non-admin', async () => {
    const unknown = await t.asAdmin('POST', keys('00000000-0000-4000-8000-000000000000'), {
      jwk: jwkOf(ed25519().publicKey),
    });
    expect(unknown.statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'GET', url: keys() });
    expect(anonymous.statusCode).toBe(401);
    const mine = await t.app.inject({
      method: 'GET',
      url: keys(),
      headers: { authorization: `Bearer ${client.key}` },
    });
    expect(mine.statusCode).toBe(403);
  });

  describe('the signature policy and JWKS URL', () => {
    const settings = (id = client.id) => `/api/v1/clients/${id}/dci/signature`;

    it('defaults to signatures on async endpoints, without a JWKS URL', async () => {
      const res = await t.asAdmin('GET', settings());
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        client_id: client.id,
        signature_policy: 'async',
        jwks_uri: null,
        updated_at: null,
      });
    });

    it('stores the policy and an https JWKS URL, keeping the callback settings', async () => {
      await t.setCallbacks(client.id, { callback_origins: ['https://spmis.example.org'] });
      const res = await t.asAdmin('PUT', settings(), {
        signature_policy: 'all',
        jwks_uri: 'https://keys.example.org/.well-known/jwks.json',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        signature_policy: 'all',
        jwks_uri: 'https://keys.example.org/.well-known/jwks.json',
      });
      const callbacks = await t.asAdmin('GET', `/api/v1/clients/${client.id}/dci`);
      expect(callbacks.json().callback_origins).toEqual(['https://spmis.example.org']);
    });

    it.each([
      ['an unknown policy', { signature_policy: 'sometimes' }, '/signature_policy'],
      [
        'an http JWKS URL outside the callback origins',
        { jwks_uri: 'http://keys.example.org/jwks.json' },
        '/jwks_uri',
      ],
      ['a JWKS URL with credentials', { jwks_uri: 'https://u:p@keys.example.org/jwks.json' }, '/jwks_uri'],
      ['a JWKS URL that is no URL', { jwks_uri: 'keys' }, '/jwks_uri'],
      ['an unknown property', { verify: false }, '/verify'],
    ])('refuses %s with a 400 problem naming the field, changing nothing', async (_name, body, pointer) => {
      const before = (await t.asAdmin('GET', settings())).json();
      const res = await t.asAdmin('PUT', settings(), body);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      expect((await t.asAdmin('GET', settings())).json()).toEqual(before);
    });

    it('accepts an http JWKS URL inside a callback origin', async () => {
      await t.setCallbacks(client.id, { callback_origins: ['http://10.0.0.5:8080'] });
      const res = await t.asAdmin('PUT', settings(), { jwks_uri: 'http://10.0.0.5:8080/jwks.json' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        signature_policy: 'async',
        jwks_uri: 'http://10.0.0.5:8080/jwks.json',
      });
    });
  });
});
