import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '#dci/exchange/receive';
import { issueClientCertificate } from '#security/tls/issue';
import type { TestApp } from '#test/app';
import { createTlsTestApp, httpsCall, type TlsTestApp } from '#test/tls';
import { seedRegistry } from '../dci/fixtures.ts';
import { idType, newSigner, searchMessage } from '../dci/harness.ts';
import { asAdmin, registerClient } from '#test/clients';
import { basic, createSecret, ISSUER, tokenRequest } from '#test/security/oauth/oauth';

const SYNC_SEARCH = '/dci/sr/registry/sync/search';

/**
 * DCI messages sent with an OAuth access token or over mutual TLS with a client certificate: recorded
 * under that credential, and work done later on their behalf (async answers, notifications) stops
 * once the credential is revoked, as it does for API keys.
 */
describe('DCI with access tokens and client certificates', () => {
  let tls: TlsTestApp;
  let t: TestApp;

  beforeAll(async () => {
    tls = await createTlsTestApp({ publicUrl: ISSUER });
    t = tls.t;
    await seedRegistry(t.database.db);
  });
  afterAll(() => tls.close());

  /** The exchange recorded for a message id, with the credential columns. */
  const exchangeOf = (messageId: string) =>
    t.database.db
      .selectFrom('dci_exchanges')
      .selectAll()
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();

  it('answers a sync search sent with an access token, and stops acting for it once its credential is revoked', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const issued = await tokenRequest(
      t,
      { grant_type: 'client_credentials', scope: 'registry:read' },
      { authorization: basic(client.id, secret.client_secret) },
    );
    const token = issued.json<{ access_token: string }>().access_token;
    const message = searchMessage(idType('Group', 'UIN', 'UIN-E1'));
    const res = await t.app.inject({
      method: 'POST',
      url: SYNC_SEARCH,
      headers: { authorization: `Bearer ${token}` },
      payload: message,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().message.search_response[0].data.reg_records).toHaveLength(1);

    const row = await exchangeOf(message.header['message_id'] as string);
    expect(row).toMatchObject({
      client_id: client.id,
      auth_method: 'access_token',
      key_id: secret.id,
      scopes: ['registry:read'],
    });
    expect(await principalOf(t.database.db, row)).toMatchObject({
      clientId: client.id,
      authMethod: 'access_token',
      scopes: new Set(['registry:read']),
    });
    const revoked = await asAdmin(t, 'DELETE', `/api/v1/clients/${client.id}/oauth/credentials/${secret.id}`);
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await principalOf(t.database.db, row)).toBeUndefined();
  });

  it('answers a sync search over mutual TLS with a registered certificate, and stops once it is revoked', async () => {
    const client = await registerClient(t);
    const certificate = await issueClientCertificate(tls.ca, client.name, { days: 1 });
    const registered = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/certificates`, {
      pem: certificate.certificatePem,
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const registration = registered.json<{ id: string }>();
    const message = searchMessage(idType('Group', 'UIN', 'UIN-E1'));
    const res = await httpsCall(`${tls.tlsUrl}${SYNC_SEARCH}`, {
      serverCa: tls.ca.certificatePem,
      certificate,
      body: message,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);

    const row = await exchangeOf(message.header['message_id'] as string);
    expect(row).toMatchObject({
      client_id: client.id,
      auth_method: 'client_certificate',
      key_id: registration.id,
    });
    expect(await principalOf(t.database.db, row)).toMatchObject({ authMethod: 'client_certificate' });
    const revoked = await asAdmin(
      t,
      'DELETE',
      `/api/v1/clients/${client.id}/certificates/${registration.id}`,
    );
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await principalOf(t.database.db, row)).toBeUndefined();
  });

  it('stops accepting a client signing key at once when it is revoked, though registered keys are cached', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const token = (
      await tokenRequest(
        t,
        { grant_type: 'client_credentials' },
        { authorization: basic(client.id, secret.client_secret) },
      )
    ).json<{ access_token: string }>().access_token;
    const signer = newSigner();
    const registered = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/dci/keys`, {
      key_id: signer.keyId,
      jwk: signer.publicKey.export({ format: 'jwk' }),
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const policy = await asAdmin(t, 'PUT', `/api/v1/clients/${client.id}/dci/signature`, {
      signature_policy: 'all',
    });
    expect(policy.statusCode, policy.body).toBe(200);
    const signedSearch = () =>
      t.app.inject({
        method: 'POST',
        url: SYNC_SEARCH,
        headers: { authorization: `Bearer ${token}` },
        payload: signer(searchMessage(idType('Group', 'UIN', 'UIN-E1'))),
      });
    expect((await signedSearch()).statusCode).toBe(200);
    expect((await signedSearch()).statusCode).toBe(200);
    const revoked = await asAdmin(t, 'DELETE', `/api/v1/clients/${client.id}/dci/keys/${signer.keyId}`);
    expect(revoked.statusCode, revoked.body).toBe(200);
    const refused = await signedSearch();
    expect(refused.statusCode).toBe(401);
    expect(JSON.stringify(refused.json())).toContain('err.signature.invalid');
  });
});
