import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientRecord } from '#platform/auth/clients';
import {
  createCertificateAuthority,
  issueClientCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
} from '#security/tls/issue';
import { createTestApp, type TestApp } from '#test/app';
import { createTestPki } from '#test/tls';

/** The admin API of client certificates: registration, listing, revocation, and every bad input. */
describe('client certificate admin API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-certs-api-'));
  let t: TestApp;
  let ca: CertificateAuthority;
  let client: ClientRecord;

  beforeAll(async () => {
    const pki = await createTestPki(dir);
    ca = pki.ca;
    t = await createTestApp(pki.settings);
    client = await newClient();
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newClient = () =>
    createClient(t.database.db, { name: `certs-${randomBytes(4).toString('hex')}`, role: 'integrator' });
  const post = (clientId: string, payload: unknown, key = t.adminKey) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/clients/${clientId}/certificates`,
      headers: { authorization: `Bearer ${key}` },
      payload: payload as Record<string, unknown>,
    });
  const revoke = (clientId: string, id: string) =>
    t.app.inject({
      method: 'DELETE',
      url: `/api/v1/clients/${clientId}/certificates/${id}`,
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
  const stored = async (clientId: string) =>
    (
      await t.database.db
        .selectFrom('client_certificates')
        .select('id')
        .where('client_id', '=', clientId)
        .execute()
    ).length;

  it('registers an uploaded certificate with what it says about itself, lists it, and audits both', async () => {
    const owner = await newClient();
    const certificate = await issueClientCertificate(ca, owner.name, { days: 1 });
    const res = await post(owner.id, { pem: certificate.certificatePem, description: 'MIS north, prod' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      client_id: owner.id,
      match: 'certificate',
      subject: `CN=${owner.name}`,
      issuer: 'CN=Test CA',
      description: 'MIS north, prod',
      revoked_at: null,
    });
    expect(body.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(body.not_after).getTime()).toBeGreaterThan(Date.now());
    const list = await t.get(`/api/v1/clients/${owner.id}/certificates`, t.adminKey);
    expect(list.json().items).toEqual([body]);
    const actions = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_id', 'outcome'])
      .where('resource_id', '=', owner.id)
      .orderBy('seq')
      .execute();
    expect(actions).toEqual([
      { action: 'client.certificate.create', resource_id: owner.id, outcome: 'success' },
      { action: 'client.certificate.list', resource_id: owner.id, outcome: 'success' },
    ]);
  });

  it('refuses garbage, a private key, a chain, a CA certificate, an expired one and one of another CA, storing nothing', async () => {
    const good = await issueClientCertificate(ca, 'bad-input', { days: 1 });
    const other = await loadCertificateAuthority(await createCertificateAuthority('Other CA', { days: 1 }));
    const expired = await issueClientCertificate(ca, 'old', {
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const cases: [string, string][] = [
      ['not a certificate', 'no PEM certificate'],
      ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'cannot be read'],
      [good.certificatePem + good.keyPem, 'private key'],
      [good.keyPem, 'private key'],
      [good.certificatePem + ca.certificatePem, 'one certificate'],
      [ca.certificatePem, 'CA certificate'],
      [expired.certificatePem, 'not valid now'],
      [(await issueClientCertificate(other, 'foreign', { days: 1 })).certificatePem, 'SPX_TLS_CLIENT_CA'],
    ];
    for (const [pem, detail] of cases) {
      const res = await post(client.id, { pem });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors).toEqual([{ pointer: '/pem', detail: expect.stringContaining(detail) }]);
    }
    expect(await stored(client.id)).toBe(0);
  });

  it('refuses a body with none or several of pem, thumbprint and subject, a bad thumbprint or subject, or unknown fields', async () => {
    const bodies = [
      {},
      { thumbprint: 'A'.repeat(43), subject: 'CN=x' },
      { thumbprint: 'too-short' },
      { subject: 'just a name' },
      { subject: 'CN=ok', role: 'admin' },
    ];
    for (const body of bodies) {
      expect((await post(client.id, body)).statusCode).toBe(400);
    }
    expect(await stored(client.id)).toBe(0);
  });

  it('refuses a certificate registered twice, to the same or another client, even after its revocation', async () => {
    const owner = await newClient();
    const certificate = await issueClientCertificate(ca, owner.name, { days: 1 });
    const first = await post(owner.id, { pem: certificate.certificatePem });
    expect(first.statusCode).toBe(201);
    const { id, thumbprint } = first.json<{ id: string; thumbprint: string }>();
    expect((await post(owner.id, { pem: certificate.certificatePem })).statusCode).toBe(409);
    const other = await newClient();
    expect((await post(other.id, { thumbprint })).statusCode).toBe(409);
    expect((await revoke(owner.id, id)).statusCode).toBe(200);
    const again = await post(owner.id, { pem: certificate.certificatePem });
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toContain('stays revoked');
    expect(await stored(owner.id)).toBe(1);
    expect(await stored(other.id)).toBe(0);
  });

  it('keeps one active registration per subject; a revoked subject may be registered again', async () => {
    const owner = await newClient();
    const subject = `CN=${owner.name}, O=Ministry`;
    const first = await post(owner.id, { subject });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      match: 'subject',
      subject: `CN=${owner.name}\nO=Ministry`,
      thumbprint: null,
    });
    expect((await post((await newClient()).id, { subject: `CN=${owner.name}\nO=Ministry` })).statusCode).toBe(
      409,
    );
    expect((await revoke(owner.id, first.json().id)).statusCode).toBe(200);
    expect((await post(owner.id, { subject })).statusCode).toBe(201);
  });

  it('answers 404 for an unknown client or a certificate of another client, and 403 without clients:manage', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await post(unknown, { subject: 'CN=x' })).statusCode).toBe(404);
    expect((await t.get(`/api/v1/clients/${unknown}/certificates`, t.adminKey)).statusCode).toBe(404);
    const owner = await newClient();
    const created = (await post(owner.id, { subject: `CN=${owner.name}` })).json<{ id: string }>();
    expect((await revoke(client.id, created.id)).statusCode).toBe(404);
    expect((await revoke(owner.id, unknown)).statusCode).toBe(404);
    expect((await post(owner.id, { subject: 'CN=y' }, await t.keyFor('integrator'))).statusCode).toBe(403);
  });

  it('refuses to register a certificate for a disabled client', async () => {
    const owner = await newClient();
    await t.database.db
      .updateTable('api_clients')
      .set({ disabled_at: new Date() })
      .where('id', '=', owner.id)
      .execute();
    expect((await post(owner.id, { subject: `CN=${owner.name}` })).statusCode).toBe(409);
    expect(await stored(owner.id)).toBe(0);
  });
});
