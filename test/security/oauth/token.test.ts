import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold } from '#test/factories';
import { startJwksServer, type JwksServer } from '#test/jwks-server';
import { asAdmin, registerClient } from '#test/clients';
import {
  assertionKey,
  basic,
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  createSecret,
  ISSUER,
  tokenRequest,
} from './oauth.ts';

/** POST /oauth/token: the client credentials grant, by secret and by private_key_jwt (RFC 6749, 7523, 9068). */
describe('the OAuth token endpoint', () => {
  let t: TestApp;
  let jwks: JwksServer;

  beforeAll(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
    jwks = await startJwksServer();
    await insertHousehold(t.database.db);
  });
  afterAll(async () => {
    await t.close();
    await jwks.close();
  });

  const ourKeys = async () =>
    createLocalJWKSet((await t.get('/.well-known/jwks.json')).json<{ keys: JWK[] }>());

  it('issues an RFC 9068 access token for a client secret sent with HTTP Basic, usable on the API', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const res = await tokenRequest(
      t,
      { grant_type: 'client_credentials' },
      { authorization: basic(client.id, secret.client_secret) },
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
    const body = res.json();
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'registry:read jobs:read',
    });
    const { payload, protectedHeader } = await jwtVerify(body.access_token, await ourKeys(), {
      issuer: ISSUER,
      audience: ISSUER,
      typ: 'at+jwt',
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({
      sub: client.id,
      client_id: client.id,
      scope: 'registry:read jobs:read',
      credential_id: secret.id,
    });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.jti).toEqual(expect.any(String));

    const households = await t.get('/api/v1/households?limit=1', body.access_token);
    expect(households.statusCode).toBe(200);
    expect(households.json().items).toHaveLength(1);
  });

  it('accepts client_secret_post and narrows the scope to what is asked', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const res = await tokenRequest(t, {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: secret.client_secret,
      scope: 'jobs:read',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().scope).toBe('jobs:read');
    const token = res.json().access_token;
    expect((await t.get('/api/v1/households', token)).statusCode).toBe(403);
    expect((await t.get('/api/v1/households', token)).json().detail).toContain('registry:read');
  });

  it('issues a token for a private_key_jwt assertion signed with a registered JWK, once only', async () => {
    const client = await registerClient(t);
    const key = assertionKey();
    const registered = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, {
      jwk: await key.jwk(),
    });
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({
      kind: 'private_key_jwt',
      key_id: key.kid,
      jwk: { kid: key.kid, use: 'sig' },
    });
    const assertion = await clientAssertion(key, client.id);
    const params = {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
    };
    const res = await tokenRequest(t, params);
    expect(res.statusCode).toBe(200);
    expect(decodeJwt(res.json().access_token)).toMatchObject({
      sub: client.id,
      credential_id: registered.json().id,
    });

    const replayed = await tokenRequest(t, params);
    expect(replayed.statusCode).toBe(400);
    expect(replayed.json()).toEqual({
      error: 'invalid_client',
      error_description: expect.stringContaining('already used'),
    });
  });

  it('verifies assertions with keys published at a JWKS URL (fetched once, then cached)', async () => {
    const client = await registerClient(t);
    const key = assertionKey('ec');
    jwks.keys.push({ ...(await key.jwk()), alg: 'ES256' });
    const registered = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, {
      jwks_uri: `${jwks.origin}/jwks.json`,
      allow_private_addresses: true,
    });
    expect(registered.statusCode).toBe(201);
    const calls = jwks.calls;
    for (let i = 0; i < 2; i += 1) {
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await clientAssertion(key, client.id, { aud: ISSUER }),
      });
      expect(res.statusCode).toBe(200);
    }
    expect(jwks.calls).toBe(calls + 1);
  });

  it('accepts an Ed25519 signature named EdDSA or Ed25519 (RFC 9864), whichever alg the key was registered with', async () => {
    for (const [registeredAlg, signedAlg] of [
      ['EdDSA', 'Ed25519'],
      ['Ed25519', 'EdDSA'],
      [undefined, 'Ed25519'],
    ] as const) {
      const client = await registerClient(t);
      const key = assertionKey();
      const jwk = { ...(await key.jwk()), ...(registeredAlg ? { alg: registeredAlg } : {}) };
      const registered = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, { jwk });
      expect(registered.statusCode, registered.body).toBe(201);
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await clientAssertion({ ...key, alg: signedAlg }, client.id),
      });
      expect(res.statusCode, `${registeredAlg} ${signedAlg}: ${res.body}`).toBe(200);
    }
  });

  it.each([
    ['signed with another key', async (c: string) => clientAssertion(assertionKey(), c), /does not verify/],
    [
      'signed with a shared secret (HS256)',
      async (c: string) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(c)
          .setSubject(c)
          .setAudience(ISSUER)
          .setExpirationTime('1m')
          .setJti(randomUUID())
          .sign(new Uint8Array(32)),
      /algorithm HS256 is not accepted: sign with EdDSA, Ed25519, ES256, RS256, PS256/,
    ],
    [
      'in an algorithm its key does not sign with (ES256 for an Ed25519 key)',
      async (c: string, k: ReturnType<typeof assertionKey>) =>
        clientAssertion({ ...assertionKey('ec'), kid: k.kid }, c),
      /algorithm ES256 is not accepted for the keys registered for this client \(they sign with EdDSA or Ed25519\)/,
    ],
    [
      'for another audience',
      async (c: string, k: ReturnType<typeof assertionKey>) =>
        clientAssertion(k, c, { aud: 'https://elsewhere.example' }),
      /aud/,
    ],
    [
      'valid for too long',
      async (c: string, k: ReturnType<typeof assertionKey>) =>
        clientAssertion(k, c, { exp: Math.floor(Date.now() / 1000) + 3600 }),
      /at most 300 s/,
    ],
    [
      'expired',
      async (c: string, k: ReturnType<typeof assertionKey>) =>
        clientAssertion(k, c, { exp: Math.floor(Date.now() / 1000) - 120 }),
      /expired/,
    ],
    [
      'with iss other than sub',
      async (c: string, k: ReturnType<typeof assertionKey>) => clientAssertion(k, c, { iss: randomUUID() }),
      /iss and sub/,
    ],
  ])('refuses an assertion %s', async (_name, make, reason) => {
    const client = await registerClient(t);
    const key = assertionKey();
    await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, { jwk: await key.jwk() });
    const res = await tokenRequest(t, {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await make(client.id, key),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_client');
    expect(res.json().error_description).toMatch(reason);
  });

  describe('answers RFC 6749 §5.2 errors', () => {
    let clientId: string;
    let secret: string;
    beforeAll(async () => {
      clientId = (await registerClient(t)).id;
      secret = (await createSecret(t, clientId, { scopes: ['registry:read'] })).client_secret;
    });
    const post = (params: Record<string, string | undefined>) => ({
      client_id: clientId,
      client_secret: secret,
      ...params,
    });

    it.each([
      [
        'a wrong secret with Basic: 401 and a Basic challenge',
        {},
        () => basic(clientId, 'wrong'),
        401,
        'invalid_client',
      ],
      ['an unknown client with Basic', {}, () => basic(randomUUID(), 'x'), 401, 'invalid_client'],
      [
        'a wrong secret in the body',
        { client_id: 'x', client_secret: 'y' },
        undefined,
        400,
        'invalid_client',
      ],
      ['no client authentication', {}, undefined, 400, 'invalid_client'],
    ] as const)('%s', async (_name, params, header, status, error) => {
      const res = await tokenRequest(
        t,
        { grant_type: 'client_credentials', ...params },
        header ? { authorization: header() } : {},
      );
      expect(res.statusCode).toBe(status);
      expect(res.json()).toEqual({ error, error_description: expect.any(String) });
      if (status === 401) {
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="spx"/);
      } else {
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
    });

    it.each([
      ['another grant type', { grant_type: 'password' }, 'unsupported_grant_type'],
      [
        'a scope the credential was not granted',
        { grant_type: 'client_credentials', scope: 'registry:read jobs:read' },
        'invalid_scope',
      ],
      ['an unknown scope', { grant_type: 'client_credentials', scope: 'everything' }, 'invalid_scope'],
      ['no grant type', { scope: 'registry:read' }, 'invalid_request'],
      [
        'two ways of client authentication',
        {
          grant_type: 'client_credentials',
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: 'a.b.c',
        },
        'invalid_request',
      ],
      [
        'a wrong client assertion type',
        {
          grant_type: 'client_credentials',
          client_secret: undefined,
          client_assertion_type: 'urn:x',
          client_assertion: 'a.b.c',
        },
        'invalid_request',
      ],
    ])('%s', async (_name, params, error) => {
      const body = Object.fromEntries(
        Object.entries(post(params)).filter(([, v]) => v !== undefined),
      ) as Record<string, string>;
      const res = await tokenRequest(t, body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error, error_description: expect.any(String) });
    });

    it('refuses a repeated parameter and a JSON body as invalid_request', async () => {
      const repeated = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=client_credentials&scope=jobs:read&scope=registry:read&client_id=${clientId}&client_secret=${secret}`,
      });
      expect(repeated.statusCode).toBe(400);
      expect(repeated.json()).toEqual({
        error: 'invalid_request',
        error_description: 'the parameter scope is repeated',
      });
      const json = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: post({ grant_type: 'client_credentials' }),
      });
      expect(json.statusCode).toBe(400);
      expect(json.json().error).toBe('invalid_request');
    });

    it('refuses a disabled client and an expired or revoked secret', async () => {
      const other = await registerClient(t);
      const kept = await createSecret(t, other.id);
      const revoked = await createSecret(t, other.id);
      expect(
        (await asAdmin(t, 'DELETE', `/api/v1/clients/${other.id}/oauth/credentials/${revoked.id}`))
          .statusCode,
      ).toBe(200);
      const attempt = (s: string) =>
        tokenRequest(t, { grant_type: 'client_credentials', client_id: other.id, client_secret: s });
      expect((await attempt(revoked.client_secret)).json().error).toBe('invalid_client');
      expect((await attempt(kept.client_secret)).statusCode).toBe(200);
      await t.database.db
        .updateTable('oauth_credentials')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', kept.id)
        .execute();
      expect((await attempt(kept.client_secret)).json().error).toBe('invalid_client');
      const fresh = await createSecret(t, other.id);
      await t.database.db
        .updateTable('api_clients')
        .set({ disabled_at: new Date() })
        .where('id', '=', other.id)
        .execute();
      expect((await attempt(fresh.client_secret)).json().error).toBe('invalid_client');
    });
  });

  it('audits every token request, granted or refused, without the secret', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const granted = randomUUID();
    const refused = randomUUID();
    await tokenRequest(
      t,
      { grant_type: 'client_credentials', client_id: client.id, client_secret: secret.client_secret },
      { 'x-request-id': granted },
    );
    await tokenRequest(
      t,
      { grant_type: 'client_credentials', client_id: client.id, client_secret: 'nope' },
      { 'x-request-id': refused },
    );
    const rows = await t.database.db
      .selectFrom('audit_log')
      .select(['request_id', 'client_id', 'action', 'resource_id', 'outcome', 'status_code'])
      .where('request_id', 'in', [granted, refused])
      .execute();
    expect(rows).toEqual(
      expect.arrayContaining([
        {
          request_id: granted,
          client_id: client.id,
          action: 'oauth.token',
          resource_id: secret.id,
          outcome: 'success',
          status_code: 200,
        },
        {
          request_id: refused,
          client_id: null,
          action: 'oauth.token',
          resource_id: null,
          outcome: 'denied',
          status_code: 400,
        },
      ]),
    );
  });

  it('publishes its metadata (RFC 8414, also at the OpenID discovery address) and its token key in /.well-known/jwks.json beside the DCI key', async () => {
    const metadata = await t.get('/.well-known/oauth-authorization-server');
    expect(metadata.statusCode).toBe(200);
    expect(metadata.json()).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'],
      scopes_supported: expect.arrayContaining(['registry:read', 'clients:manage']),
      service_documentation: `${ISSUER}/docs`,
    });
    // OpenID Connect clients discover the same metadata from the issuer (RFC 8414 §5).
    const discovery = await t.get('/.well-known/openid-configuration');
    expect(discovery.statusCode).toBe(200);
    expect(discovery.json()).toEqual(metadata.json());
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const token = (
      await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: secret.client_secret,
      })
    ).json().access_token;
    const keys = (await t.get('/.well-known/jwks.json')).json<{ keys: JWK[] }>().keys;
    expect(keys.map((k) => k.kid)).toContain(decodeProtectedHeader(token).kid);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys.every((k) => !('d' in k))).toBe(true);
  });
});
