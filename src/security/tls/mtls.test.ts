import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createKey, type ClientRecord } from '#platform/auth/clients';
import { certificateThumbprint } from '#platform/auth/peer-certificate';
import type { Role } from '#platform/auth/roles';
import {
  createCertificateAuthority,
  issueClientCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
  type IssuedCertificate,
} from '#security/tls/issue';
import type { TestApp } from '#test/app';
import { createTlsTestApp, HANDSHAKE_REFUSED, httpsCall, type TlsTestApp } from '#test/tls';

/** The mutual-TLS listener on a real port of 127.0.0.1, with certificates made by `spx certs`' code. */
describe('mutual TLS listener', () => {
  let tls: TlsTestApp;
  let t: TestApp;
  let ca: CertificateAuthority;
  let tlsUrl: string;

  beforeAll(async () => {
    tls = await createTlsTestApp();
    ({ t, ca, tlsUrl } = tls);
  });
  afterAll(() => tls.close());

  const newClient = (role: Role = 'integrator'): Promise<ClientRecord> =>
    createClient(t.database.db, { name: `mtls-${randomBytes(4).toString('hex')}`, role });
  const clientCertificate = (name: string, from = ca) => issueClientCertificate(from, name, { days: 1 });

  async function register(client: ClientRecord, body: Record<string, string>) {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/clients/${client.id}/certificates`,
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: body,
    });
    expect(res.statusCode).toBe(201);
    return res.json<{ id: string; thumbprint: string }>();
  }

  const call = (path: string, certificate?: IssuedCertificate, headers: Record<string, string> = {}) =>
    httpsCall(`${tlsUrl}${path}`, { serverCa: ca.certificatePem, certificate, headers });

  it('accepts a registered client certificate on an API route and audits the call with its client', async () => {
    const client = await newClient();
    const certificate = await clientCertificate(client.name);
    await register(client, { pem: certificate.certificatePem });
    const requestId = randomUUID();
    const res = await call('/api/v1/programs', certificate, { 'x-request-id': requestId });
    expect(res.status).toBe(200);
    expect(res.body.items).toBeInstanceOf(Array);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['client_id', 'client_name', 'action', 'outcome'])
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({
      client_id: client.id,
      client_name: client.name,
      action: 'program.list',
      outcome: 'success',
    });
  });

  it("grants the client's role, no more: an integrator's certificate cannot manage clients", async () => {
    const client = await newClient();
    const certificate = await clientCertificate(client.name);
    await register(client, { pem: certificate.certificatePem });
    const res = await call('/api/v1/clients', certificate);
    expect(res.status).toBe(403);
  });

  it('refuses the handshake without a client certificate', async () => {
    await expect(call('/api/v1/programs')).rejects.toThrow(HANDSHAKE_REFUSED);
    await expect(call('/health')).rejects.toThrow(HANDSHAKE_REFUSED);
  });

  it('refuses the handshake with a certificate of another CA, even one registered by thumbprint', async () => {
    const other = await loadCertificateAuthority(await createCertificateAuthority('Other CA', { days: 1 }));
    const client = await newClient();
    const certificate = await clientCertificate(client.name, other);
    await register(client, {
      thumbprint: certificateThumbprint(new X509Certificate(certificate.certificatePem).raw),
    });
    await expect(call('/api/v1/programs', certificate)).rejects.toThrow(HANDSHAKE_REFUSED);
  });

  it('refuses the handshake with an expired certificate', async () => {
    const now = Date.now();
    const expired = await issueClientCertificate(ca, 'expired-client', {
      notBefore: new Date(now - 3 * 86_400_000),
      notAfter: new Date(now - 86_400_000),
    });
    await expect(call('/api/v1/programs', expired)).rejects.toThrow(HANDSHAKE_REFUSED);
  });

  it('answers 401 to a certificate of the CA that no client registered', async () => {
    const res = await call('/api/v1/programs', await clientCertificate('nobody'));
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe('client certificate not registered');
  });

  it('refuses a revoked certificate from the next request on', async () => {
    const client = await newClient();
    const certificate = await clientCertificate(client.name);
    const registered = await register(client, { pem: certificate.certificatePem });
    expect((await call('/api/v1/programs', certificate)).status).toBe(200);
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/clients/${client.id}/certificates/${registered.id}`,
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(revoke.statusCode).toBe(200);
    const res = await call('/api/v1/programs', certificate);
    expect(res.status).toBe(401);
    expect(res.body.detail).toContain('revoked');
  });

  it('refuses the certificate of a disabled client', async () => {
    const client = await newClient();
    const certificate = await clientCertificate(client.name);
    await register(client, { pem: certificate.certificatePem });
    await t.database.db
      .updateTable('api_clients')
      .set({ disabled_at: new Date() })
      .where('id', '=', client.id)
      .execute();
    expect((await call('/api/v1/programs', certificate)).status).toBe(401);
  });

  it('maps a registered subject to every certificate of the CA with exactly that subject', async () => {
    const client = await newClient();
    await register(client, { subject: `CN=${client.name}` });
    for (const certificate of [await clientCertificate(client.name), await clientCertificate(client.name)]) {
      expect((await call('/api/v1/programs', certificate)).status).toBe(200);
    }
    expect((await call('/api/v1/programs', await clientCertificate(`${client.name}-x`))).status).toBe(401);
  });

  it("refuses an API key of another client over a registered certificate, and accepts the owner's own", async () => {
    const owner = await newClient();
    const certificate = await clientCertificate(owner.name);
    await register(owner, { pem: certificate.certificatePem });
    const ownKey = (await createKey(t.database.db, owner, { expiresInDays: 1 })).key;
    const otherKey = await t.keyFor('integrator');

    const refused = await call('/api/v1/programs', certificate, { authorization: `Bearer ${otherKey}` });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toContain('registered to another client');
    expect((await call('/api/v1/programs', certificate, { 'x-api-key': otherKey })).status).toBe(401);
    expect((await call('/api/v1/programs', certificate, { authorization: `Bearer ${ownKey}` })).status).toBe(
      200,
    );
  });

  it('lets an API key speak for itself over a certificate of the CA that is not registered', async () => {
    const key = await t.keyFor('integrator');
    const certificate = await clientCertificate('unregistered-with-key');
    expect((await call('/api/v1/programs', certificate, { authorization: `Bearer ${key}` })).status).toBe(
      200,
    );
    expect((await call('/api/v1/programs', certificate, { authorization: 'Bearer nonsense' })).status).toBe(
      401,
    );
  });

  it('keeps the HTTP listener working as before, where no certificate can be presented', async () => {
    expect((await t.get('/api/v1/programs', t.adminKey)).statusCode).toBe(200);
    const res = await t.get('/api/v1/programs');
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toContain('credentials are required');
  });
});
