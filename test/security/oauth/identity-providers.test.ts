import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { startJwksServer, type JwksServer } from '#test/jwks-server';
import { asAdmin, registerClient } from '#test/clients';
import { ISSUER } from './oauth.ts';

/**
 * Access tokens of an external identity provider (a Keycloak realm, played by a JWKS server on
 * 127.0.0.1 and keys made here): verified against its JWKS, mapped to a linked client, with the
 * provider's roles mapped to ours and never beyond the client's role.
 */
describe('tokens of an external identity provider', () => {
  const IDP = 'https://idp.test/realms/spx';
  const AUDIENCE = 'spx-gateway';
  let t: TestApp;
  let jwks: JwksServer;
  let providerId: string;
  let signingKey: { kid: string; privateKey: KeyObject };

  const newKey = async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = `rsa-${randomBytes(4).toString('hex')}`;
    jwks.keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' });
    return { kid, privateKey: pair.privateKey };
  };

  /** A Keycloak-like access token for the provider's client `azp`. */
  const idpToken = (claims: JWTPayload, key = signingKey) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: IDP, aud: AUDIENCE, iat: now, exp: now + 300, jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
      .sign(key.privateKey);
  };

  /** A new client of this role, linked to the identity `azp` at the provider. */
  const linkedClient = async (role: 'integrator' | 'analyst' = 'integrator', provider = providerId) => {
    const client = await registerClient(t, role);
    const azp = `mis-${randomBytes(4).toString('hex')}`;
    const res = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/identities`, {
      provider_id: provider,
      external_id: azp,
    });
    expect(res.statusCode).toBe(201);
    return { client, azp, credentialId: res.json<{ id: string }>().id };
  };

  const registerProvider = async (body: Record<string, unknown>) => {
    const res = await asAdmin(t, 'POST', '/api/v1/identity-providers', {
      name: `idp-${randomBytes(4).toString('hex')}`,
      audience: AUDIENCE,
      allow_private_addresses: true,
      ...body,
    });
    expect(res.statusCode).toBe(201);
    return res.json<{ id: string }>().id;
  };

  beforeAll(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
    jwks = await startJwksServer();
    signingKey = await newKey();
    providerId = await registerProvider({
      issuer: IDP,
      jwks_uri: `${jwks.origin}/realms/spx/certs`,
      permissions_claim: 'realm_access.roles',
      permissions_map: { 'spx-integrator': 'integrator', 'spx-admin': 'admin', 'spx-jobs': 'jobs:read' },
    });
  });
  afterAll(async () => {
    await t.close();
    await jwks.close();
  });
  afterEach(() => vi.useRealTimers());

  const refusal = async (token: string) => {
    const res = await t.get('/api/v1/programs', token);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    return res.json<{ detail: string }>().detail;
  };

  it("accepts a linked client's token, its roles mapped to ours, and audits the call under the client", async () => {
    const { client, azp } = await linkedClient();
    const token = await idpToken({ azp, realm_access: { roles: ['spx-integrator', 'offline_access'] } });
    const requestId = randomUUID();
    const res = await t.get('/api/v1/programs', token, { 'x-request-id': requestId });
    expect(res.statusCode).toBe(200);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['client_id', 'outcome'])
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({ client_id: client.id, outcome: 'success' });
  });

  it("never grants beyond the linked client's role, nor what the token's roles do not map to", async () => {
    const { azp } = await linkedClient('integrator');
    const asAdminRole = await idpToken({ azp, realm_access: { roles: ['spx-admin'] } });
    expect((await t.get('/api/v1/programs', asAdminRole)).statusCode).toBe(200);
    expect((await t.get('/api/v1/clients', asAdminRole)).statusCode).toBe(403);
    const jobsOnly = await idpToken({ azp, realm_access: { roles: ['spx-jobs', 'unknown-role'] } });
    expect((await t.get('/api/v1/programs', jobsOnly)).statusCode).toBe(403);
    const noRoles = await idpToken({ azp });
    expect((await t.get('/api/v1/programs', noRoles)).statusCode).toBe(403);
  });

  it('reads our permission names from the scope claim when the provider has no map', async () => {
    const issuer = `https://idp.test/realms/${randomBytes(3).toString('hex')}`;
    const other = await registerProvider({ issuer, jwks_uri: `${jwks.origin}/certs` });
    const { azp } = await linkedClient('integrator', other);
    const token = await idpToken({ iss: issuer, azp, scope: 'profile registry:read' });
    expect((await t.get('/api/v1/programs', token)).statusCode).toBe(200);
  });

  it('refuses a token of an unregistered issuer, of an unlinked client, for another audience, or forged', async () => {
    const { azp } = await linkedClient();
    const roles = { realm_access: { roles: ['spx-integrator'] } };
    expect(await refusal(await idpToken({ azp, ...roles, iss: 'https://evil.example/realms/spx' }))).toMatch(
      /issuer is not trusted/,
    );
    expect(await refusal(await idpToken({ azp: 'stranger', ...roles }))).toMatch(
      /not registered with this gateway/,
    );
    expect(await refusal(await idpToken({ ...roles }))).toMatch(/no azp claim/);
    expect(await refusal(await idpToken({ azp, ...roles, aud: 'another-service' }))).toMatch(/aud claim/);
    const forger = {
      kid: signingKey.kid,
      privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    };
    expect(await refusal(await idpToken({ azp, ...roles }, forger))).toMatch(/signature does not verify/);
  });

  it('fetches a rotated key once its kid appears (refetching at most every 30 s)', async () => {
    const { azp } = await linkedClient();
    const rotated = await newKey();
    const calls = jwks.calls;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 31_000);
    const token = await idpToken({ azp, realm_access: { roles: ['spx-integrator'] } }, rotated);
    expect((await t.get('/api/v1/programs', token)).statusCode).toBe(200);
    expect(jwks.calls).toBe(calls + 1);
  });

  it('stops accepting tokens when the link is revoked or the provider disabled', async () => {
    const { client, azp, credentialId } = await linkedClient();
    const token = await idpToken({ azp, realm_access: { roles: ['spx-integrator'] } });
    expect((await t.get('/api/v1/programs', token)).statusCode).toBe(200);
    expect(
      (await asAdmin(t, 'DELETE', `/api/v1/clients/${client.id}/oauth/credentials/${credentialId}`))
        .statusCode,
    ).toBe(200);
    expect(await refusal(token)).toMatch(/not registered with this gateway/);

    const issuer = `https://idp.test/realms/${randomBytes(3).toString('hex')}`;
    const doomed = await registerProvider({ issuer, jwks_uri: `${jwks.origin}/certs` });
    const linked = await linkedClient('integrator', doomed);
    const before = await idpToken({ iss: issuer, azp: linked.azp, scope: 'registry:read' });
    expect((await t.get('/api/v1/programs', before)).statusCode).toBe(200);
    expect((await asAdmin(t, 'DELETE', `/api/v1/identity-providers/${doomed}`)).statusCode).toBe(200);
    expect(await refusal(before)).toMatch(/issuer is not trusted/);
  });

  it('fetches no keys from a private address unless the provider is allowed it', async () => {
    const issuer = `https://idp.test/realms/${randomBytes(3).toString('hex')}`;
    const guarded = await registerProvider({
      issuer,
      jwks_uri: 'https://127.0.0.1:9/certs',
      allow_private_addresses: false,
    });
    const { azp } = await linkedClient('integrator', guarded);
    expect(await refusal(await idpToken({ iss: issuer, azp, scope: 'registry:read' }))).toMatch(
      /keys could not be read: the host 127.0.0.1:9 resolves to a private or loopback address/,
    );
  });
});
