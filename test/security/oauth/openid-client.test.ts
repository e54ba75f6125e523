import type { AddressInfo } from 'node:net';
import { exportJWK } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { asAdmin, registerClient } from '#test/clients';

/**
 * A standard OpenID Connect client library (openid-client 6) against the gateway on a real port, as
 * an integrator would use it: given only the issuer URL, it discovers the token endpoint at
 * /.well-known/openid-configuration, then authenticates with private_key_jwt signed by an Ed25519
 * key, which it names with the fully-specified alg `Ed25519` (RFC 9864).
 */
describe('an off-the-shelf OpenID Connect client', () => {
  let t: TestApp;
  let issuer: URL;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    issuer = new URL(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`);
  });
  afterAll(() => t.close());

  it('discovers the token endpoint from the issuer and gets a token with an Ed25519 private_key_jwt', async () => {
    const client = await registerClient(t);
    const { publicKey, privateKey } = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, [
      'sign',
      'verify',
    ]);
    const registered = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/keys`, {
      jwk: await exportJWK(publicKey),
    });
    expect(registered.statusCode).toBe(201);

    const config = await oidc.discovery(
      issuer,
      client.id,
      {},
      oidc.PrivateKeyJwt(privateKey),
      // Plain HTTP on the loopback address of the test only.
      { execute: [oidc.allowInsecureRequests] },
    );
    expect(config.serverMetadata().token_endpoint).toBe(`${issuer.origin}/oauth/token`);
    expect(config.serverMetadata().token_endpoint_auth_signing_alg_values_supported).toContain('Ed25519');

    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'registry:read' });
    expect(tokens.scope).toBe('registry:read');
    expect((await t.get('/api/v1/programs', tokens.access_token)).statusCode).toBe(200);
  });
});
