import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { asAdmin, registerClient } from '#test/clients';
import { assertionKey, createSecret, ISSUER } from './oauth.ts';

/** The OAuth admin API: credentials of clients and identity providers; bad input changes nothing. */
describe('the OAuth admin API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
  });
  afterAll(() => t.close());

  const credentialsOf = async (clientId: string) =>
    t.database.db.selectFrom('oauth_credentials').selectAll().where('client_id', '=', clientId).execute();
  const expectProblem = (res: { statusCode: number; json(): unknown }, status: number, pointer?: string) => {
    expect(res.statusCode).toBe(status);
    if (pointer) {
      expect(res.json()).toMatchObject({
        status,
        errors: expect.arrayContaining([expect.objectContaining({ pointer })]),
      });
    }
  };

  describe('client secrets', () => {
    it('are shown once, stored as a hash, listed without it, and audited', async () => {
      const client = await registerClient(t);
      const requestId = randomUUID();
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/clients/${client.id}/oauth/secrets`,
        headers: { authorization: `Bearer ${t.adminKey}`, 'x-request-id': requestId },
        payload: { description: 'MIS production', expires_in_days: 30 },
      });
      expect(res.statusCode).toBe(201);
      const created = res.json();
      expect(created).toMatchObject({
        client_id: client.id,
        kind: 'client_secret',
        scopes: ['registry:read', 'jobs:read'],
        description: 'MIS production',
        client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      });
      const [row] = await credentialsOf(client.id);
      expect(row!.secret_hash!.toString('base64url')).not.toContain(created.client_secret);
      const list = await asAdmin(t, 'GET', `/api/v1/clients/${client.id}/oauth/credentials`);
      expect(list.json().items).toHaveLength(1);
      expect(JSON.stringify(list.json())).not.toContain(created.client_secret);
      const audit = await t.database.db
        .selectFrom('audit_log')
        .select(['action', 'resource_id', 'outcome'])
        .where('request_id', '=', requestId)
        .executeTakeFirstOrThrow();
      expect(audit).toEqual({
        action: 'client.oauth_secret.create',
        resource_id: client.id,
        outcome: 'success',
      });
    });

    it.each([
      ['a scope beyond the role', { scopes: ['clients:manage'] }, '/scopes'],
      ['an unknown scope', { scopes: ['everything'] }, '/scopes/0'],
      ['an unknown property', { secret: 'mine' }, '/secret'],
      ['a lifetime out of range', { expires_in_days: 0 }, '/expires_in_days'],
    ])('refuse %s (400, nothing stored)', async (_name, body, pointer) => {
      const client = await registerClient(t);
      expectProblem(
        await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/secrets`, body),
        400,
        pointer,
      );
      expect(await credentialsOf(client.id)).toEqual([]);
    });

    it('are refused for an unknown or disabled client, beyond five, and to a caller without clients:manage', async () => {
      expectProblem(await asAdmin(t, 'POST', `/api/v1/clients/${randomUUID()}/oauth/secrets`, {}), 404);
      expectProblem(await asAdmin(t, 'POST', '/api/v1/clients/not-a-uuid/oauth/secrets', {}), 400);
      const client = await registerClient(t);
      for (let i = 0; i < 5; i += 1) {
        await createSecret(t, client.id);
      }
      expectProblem(await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/secrets`, {}), 409);
      const disabled = await registerClient(t);
      await t.database.db
        .updateTable('api_clients')
        .set({ disabled_at: new Date() })
        .where('id', '=', disabled.id)
        .execute();
      expectProblem(await asAdmin(t, 'POST', `/api/v1/clients/${disabled.id}/oauth/secrets`, {}), 409);
      const integrator = await t.keyFor('integrator');
      const denied = await t.app.inject({
        method: 'POST',
        url: `/api/v1/clients/${client.id}/oauth/secrets`,
        headers: { authorization: `Bearer ${integrator}` },
        payload: {},
      });
      expect(denied.statusCode).toBe(403);
      expect(await credentialsOf(disabled.id)).toEqual([]);
    });
  });

  describe('private_key_jwt keys', () => {
    it.each([
      [
        'a private key',
        async () => ({ jwk: generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) }),
        '/jwk',
        /private key/,
      ],
      [
        'a symmetric key',
        async () => ({ jwk: { kty: 'oct', k: 'c2VjcmV0' } }),
        '/jwk',
        /cannot be read|only Ed25519/,
      ],
      [
        'a short RSA key',
        async () => ({ jwk: await exportJWK(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey) }),
        '/jwk',
        /2048/,
      ],
      [
        'a P-384 key',
        async () => ({ jwk: await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey) }),
        '/jwk',
        /only Ed25519/,
      ],
      [
        'an alg that does not fit',
        async () => ({ jwk: { ...(await assertionKey().jwk()), alg: 'RS256' } }),
        '/jwk',
        /does not fit/,
      ],
      [
        'both a JWK and a JWKS URL',
        async () => ({ jwk: await assertionKey().jwk(), jwks_uri: 'https://mis.example/jwks' }),
        '/jwk',
        /exactly one/,
      ],
      ['neither', async () => ({}), '/jwk', /exactly one/],
      ['an http JWKS URL', async () => ({ jwks_uri: 'http://mis.example/jwks' }), '/jwks_uri', /https/],
      [
        'a JWKS URL with credentials',
        async () => ({ jwks_uri: 'https://u:p@mis.example/jwks' }),
        '/jwks_uri',
        /credentials/,
      ],
      [
        'a key id beside a JWKS URL',
        async () => ({ jwks_uri: 'https://mis.example/jwks', key_id: 'k1' }),
        '/key_id',
        /own kids/,
      ],
      [
        'a kid that differs from key_id',
        async () => ({ jwk: await assertionKey().jwk(), key_id: 'other' }),
        '/jwk',
        /differs/,
      ],
      [
        'an expiry in the past',
        async () => ({ jwk: await assertionKey().jwk(), expires_at: '2020-01-01T00:00:00Z' }),
        '/expires_at',
        /future/,
      ],
    ])('refuse %s (400, nothing stored)', async (_name, body, pointer, detail) => {
      const client = await registerClient(t);
      const res = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, await body());
      expectProblem(res, 400, pointer);
      expect(JSON.stringify(res.json())).toMatch(detail);
      expect(await credentialsOf(client.id)).toEqual([]);
    });

    it('refuse a key id the client already uses, until that key is revoked', async () => {
      const client = await registerClient(t);
      const jwk = await assertionKey().jwk();
      const first = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, { jwk });
      expect(first.statusCode).toBe(201);
      expectProblem(await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, { jwk }), 409);
      expect(
        (await asAdmin(t, 'DELETE', `/api/v1/clients/${client.id}/oauth/credentials/${first.json().id}`))
          .statusCode,
      ).toBe(200);
      expect((await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, { jwk })).statusCode).toBe(
        201,
      );
    });

    it('store the public members only, with a thumbprint kid when none is given', async () => {
      const client = await registerClient(t);
      const { kid: _kid, ...jwk } = await assertionKey('ec').jwk();
      const res = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, { jwk });
      expect(res.statusCode).toBe(201);
      expect(res.json().key_id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Object.keys(res.json().jwk).sort()).toEqual(['crv', 'kid', 'kty', 'use', 'x', 'y']);
    });
  });

  describe('revocation', () => {
    it('answers 404 for a credential of another client or none, and is harmless twice', async () => {
      const owner = await registerClient(t);
      const other = await registerClient(t);
      const secret = await createSecret(t, owner.id);
      expectProblem(
        await asAdmin(t, 'DELETE', `/api/v1/clients/${other.id}/oauth/credentials/${secret.id}`),
        404,
      );
      expectProblem(
        await asAdmin(t, 'DELETE', `/api/v1/clients/${owner.id}/oauth/credentials/${randomUUID()}`),
        404,
      );
      const first = await asAdmin(t, 'DELETE', `/api/v1/clients/${owner.id}/oauth/credentials/${secret.id}`);
      const second = await asAdmin(t, 'DELETE', `/api/v1/clients/${owner.id}/oauth/credentials/${secret.id}`);
      expect(second.json().revoked_at).toBe(first.json().revoked_at);
    });
  });

  describe('identity providers and links', () => {
    const provider = (overrides: Record<string, unknown> = {}) => ({
      name: `idp-${randomBytes(4).toString('hex')}`,
      issuer: `https://idp.example/realms/${randomBytes(4).toString('hex')}`,
      jwks_uri: 'https://idp.example/certs',
      audience: 'spx-gateway',
      ...overrides,
    });
    const providers = () => t.database.db.selectFrom('oauth_identity_providers').select('id').execute();

    it('are created with defaults, read, replaced and disabled', async () => {
      const created = await asAdmin(t, 'POST', '/api/v1/identity-providers', provider());
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({
        client_claim: 'azp',
        permissions_claim: 'scope',
        permissions_map: {},
        allow_private_addresses: false,
        disabled_at: null,
      });
      const id = created.json().id;
      expect((await asAdmin(t, 'GET', `/api/v1/identity-providers/${id}`)).json()).toEqual(created.json());
      const replaced = await asAdmin(t, 'PUT', `/api/v1/identity-providers/${id}`, {
        ...provider({ name: created.json().name, issuer: created.json().issuer }),
        permissions_claim: 'realm_access.roles',
        permissions_map: { 'spx-reader': 'integrator' },
      });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json()).toMatchObject({
        permissions_claim: 'realm_access.roles',
        permissions_map: { 'spx-reader': 'integrator' },
      });
      const disabled = await asAdmin(t, 'DELETE', `/api/v1/identity-providers/${id}`);
      expect(disabled.json().disabled_at).toEqual(expect.any(String));
      expect(
        (await asAdmin(t, 'GET', '/api/v1/identity-providers')).json().items.map((p: { id: string }) => p.id),
      ).toContain(id);
    });

    it.each([
      ['an http JWKS URL', { jwks_uri: 'http://idp.example/certs' }, '/jwks_uri'],
      ['an issuer with a fragment', { issuer: 'https://idp.example/realms/x#y' }, '/issuer'],
      ['our own issuer', { issuer: ISSUER }, '/issuer'],
      [
        'a mapping to no role or permission of ours',
        { permissions_map: { admins: 'root' } },
        '/permissions_map/admins',
      ],
      ['a claim path with spaces', { client_claim: 'client id' }, '/client_claim'],
      ['an unknown property', { secret: 'x' }, '/secret'],
      ['no audience', { audience: undefined }, '/audience'],
    ])('refuse %s (400, nothing stored)', async (_name, overrides, pointer) => {
      const before = (await providers()).length;
      expectProblem(
        await asAdmin(t, 'POST', '/api/v1/identity-providers', provider(overrides)),
        400,
        pointer,
      );
      expect(await providers()).toHaveLength(before);
    });

    it('refuse a taken name or issuer (409), and answer 404 for an unknown one', async () => {
      const first = provider();
      expect((await asAdmin(t, 'POST', '/api/v1/identity-providers', first)).statusCode).toBe(201);
      expectProblem(
        await asAdmin(t, 'POST', '/api/v1/identity-providers', provider({ name: first.name })),
        409,
      );
      expectProblem(
        await asAdmin(t, 'POST', '/api/v1/identity-providers', provider({ issuer: first.issuer })),
        409,
      );
      expectProblem(await asAdmin(t, 'GET', `/api/v1/identity-providers/${randomUUID()}`), 404);
      expectProblem(await asAdmin(t, 'PUT', `/api/v1/identity-providers/${randomUUID()}`, provider()), 404);
      expectProblem(await asAdmin(t, 'DELETE', `/api/v1/identity-providers/${randomUUID()}`), 404);
    });

    it('link one identity to one client only, and only at an enabled provider', async () => {
      const id = (await asAdmin(t, 'POST', '/api/v1/identity-providers', provider())).json().id;
      const [a, b] = [await registerClient(t), await registerClient(t)];
      const link = (clientId: string, body: Record<string, unknown>) =>
        asAdmin(t, 'POST', `/api/v1/clients/${clientId}/oauth/identities`, body);
      expect((await link(a.id, { provider_id: id, external_id: 'mis' })).statusCode).toBe(201);
      expectProblem(await link(b.id, { provider_id: id, external_id: 'mis' }), 409);
      expectProblem(await link(b.id, { provider_id: randomUUID(), external_id: 'mis' }), 400, '/provider_id');
      expectProblem(await link(b.id, { provider_id: id, external_id: '' }), 400, '/external_id');
      await asAdmin(t, 'DELETE', `/api/v1/identity-providers/${id}`);
      expectProblem(await link(b.id, { provider_id: id, external_id: 'other' }), 400, '/provider_id');
      expect(await credentialsOf(b.id)).toEqual([]);
    });
  });
});
