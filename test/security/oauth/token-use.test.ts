import { generateKeyPairSync, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { gatewayKeys } from '#app';
import { certificateThumbprint } from '#platform/auth/peer-certificate';
import {
  issueClientCertificate,
  type CertificateAuthority,
  type IssuedCertificate,
} from '#security/tls/issue';
import { createTestApp, type TestApp } from '#test/app';
import { createTestPki, httpsCall } from '#test/tls';
import { asAdmin, registerClient } from '#test/clients';
import { createSecret, ISSUER, tokenFor, tokenRequest } from './oauth.ts';

/** Bearer access tokens on the API: what is accepted, what is refused and why (RFC 6750, 9068, 8705). */
describe('access tokens on the API', () => {
  let t: TestApp;
  let clientId: string;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
    clientId = (await registerClient(t)).id;
    token = await tokenFor(t, clientId);
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  /** Our current signing key, read from the database: to make tokens that are well signed but wrong. */
  const ourKey = async (): Promise<{ kid: string; privateKey: KeyObject }> => {
    const key = await gatewayKeys(t.database.db, t.vault).tokenSigning.current();
    return { kid: key.id, privateKey: key.privateKey };
  };
  /** The claims of the test's good token with `changes`, signed with `key` (ours by default). */
  const reSigned = async (
    changes: JWTPayload,
    options: { key?: { kid: string; privateKey: KeyObject }; typ?: string } = {},
  ) => {
    const key = options.key ?? (await ourKey());
    return new SignJWT({ ...decodeJwt(token), ...changes })
      .setProtectedHeader({ alg: 'EdDSA', typ: options.typ ?? 'at+jwt', kid: key.kid })
      .sign(key.privateKey);
  };
  const refusal = async (presented: string) => {
    const res = await t.get('/api/v1/programs', presented);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer realm="spx", error="invalid_token", error_description="[^"]+"$/,
    );
    return res.json<{ detail: string }>().detail;
  };

  it('lets a token act as its client with authMethod access_token, audited under the client', async () => {
    const requestId = randomUUID();
    expect((await t.get('/api/v1/programs', token, { 'x-request-id': requestId })).statusCode).toBe(200);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['client_id', 'action', 'outcome'])
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({ client_id: clientId, action: 'program.list', outcome: 'success' });
  });

  it('refuses a token once it expired (after the clock skew of 30 s)', async () => {
    const { exp } = decodeJwt(token);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((exp! + 20) * 1000);
    expect((await t.get('/api/v1/programs', token)).statusCode).toBe(200);
    vi.setSystemTime((exp! + 31) * 1000);
    expect(await refusal(token)).toMatch(/expired/);
  });

  it('refuses a forged token: our kid, another key', async () => {
    const { kid } = await ourKey();
    const forged = await reSigned(
      { scope: 'registry:read clients:manage' },
      { key: { kid, privateKey: generateKeyPairSync('ed25519').privateKey } },
    );
    expect(await refusal(forged)).toMatch(/signature does not verify/);
  });

  it('refuses a token for another audience, of another issuer, or of another type, even well signed', async () => {
    expect(await refusal(await reSigned({ aud: 'https://other.example' }))).toMatch(/aud claim/);
    expect(await refusal(await reSigned({ iss: 'https://idp.example' }))).toMatch(/issuer is not trusted/);
    expect(await refusal(await reSigned({}, { typ: 'JWT' }))).toMatch(/typ header/);
    expect(await refusal(await reSigned({ credential_id: undefined }))).toMatch(/credential_id claim/);
  });

  it('refuses an unsigned token (alg none) and a malformed one', async () => {
    const unsigned = new UnsecuredJWT({ ...decodeJwt(token) }).encode();
    expect(await refusal(unsigned)).toMatch(/not signed with an accepted algorithm/);
    expect(await refusal('eyJhbGciOiJFZERTQSJ9.bm90LWpzb24.c2ln')).toMatch(/malformed/);
  });

  it('keeps API keys working beside tokens', async () => {
    expect((await t.get('/api/v1/programs', t.adminKey)).statusCode).toBe(200);
  });

  it('never grants more than the credential and the role: a narrow credential gives a narrow token', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id, { scopes: ['jobs:read'] });
    const res = await tokenRequest(t, {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: secret.client_secret,
    });
    expect(res.json().scope).toBe('jobs:read');
    expect((await t.get('/api/v1/programs', res.json().access_token)).statusCode).toBe(403);
    // A token claiming more than its credential grants (signed by us) still gets the credential's scopes only.
    const widened = await reSigned({
      sub: client.id,
      client_id: client.id,
      credential_id: secret.id,
      scope: 'registry:read clients:manage',
    });
    expect((await t.get('/api/v1/programs', widened)).statusCode).toBe(403);
    expect((await t.get('/api/v1/clients', widened)).statusCode).toBe(403);
  });

  it('stops the tokens of a revoked credential and of a disabled client at once', async () => {
    const client = await registerClient(t);
    const secret = await createSecret(t, client.id);
    const issued = (
      await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: secret.client_secret,
      })
    ).json().access_token;
    expect((await t.get('/api/v1/programs', issued)).statusCode).toBe(200);
    expect(
      (await asAdmin(t, 'DELETE', `/api/v1/clients/${client.id}/oauth/credentials/${secret.id}`)).statusCode,
    ).toBe(200);
    expect(await refusal(issued)).toMatch(/revoked or expired/);

    const other = await registerClient(t);
    const otherToken = await tokenFor(t, other.id);
    expect((await t.get('/api/v1/programs', otherToken)).statusCode).toBe(200);
    await t.database.db
      .updateTable('api_clients')
      .set({ disabled_at: new Date() })
      .where('id', '=', other.id)
      .execute();
    t.app.clientChanges.changed(other.id); // as the route that disables a client does
    expect(await refusal(otherToken)).toMatch(/client of this token is disabled/);
  });
});

/**
 * RFC 8705 certificate-bound tokens, over the mutual-TLS listener on a real port of 127.0.0.1: a
 * token requested over mutual TLS is bound to the client certificate, and accepted only with it.
 */
describe('certificate-bound access tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-oauth-mtls-'));
  let t: TestApp;
  let ca: CertificateAuthority;
  let tlsUrl: string;

  beforeAll(async () => {
    const pki = await createTestPki(dir);
    ca = pki.ca;
    t = await createTestApp({ ...pki.settings, publicUrl: ISSUER });
    tlsUrl = await t.app.tlsListener!.listen();
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** POST /oauth/token over mutual TLS with `certificate`. */
  const tokenOverTls = (certificate: IssuedCertificate, form: Record<string, string>) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const call = request(
        `${tlsUrl}/oauth/token`,
        {
          method: 'POST',
          agent: false,
          ca: ca.certificatePem,
          cert: certificate.certificatePem,
          key: certificate.keyPem,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode!,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            }),
          );
        },
      );
      call.on('error', reject);
      call.end(new URLSearchParams(form).toString());
    });

  it('binds a token requested over mutual TLS to the certificate, and accepts it only with that certificate', async () => {
    const client = await registerClient(t);
    const certificate = await issueClientCertificate(ca, client.name, { days: 1 });
    const other = await issueClientCertificate(ca, `${client.name}-other`, { days: 1 });
    const secret = await createSecret(t, client.id);
    const res = await tokenOverTls(certificate, {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: secret.client_secret,
    });
    expect(res.status).toBe(200);
    const bound = res.body['access_token'] as string;
    const thumbprint = certificateThumbprint(new X509Certificate(certificate.certificatePem).raw);
    expect(decodeJwt(bound)).toMatchObject({ cnf: { 'x5t#S256': thumbprint } });
    expect(decodeProtectedHeader(bound).typ).toBe('at+jwt');

    const headers = { authorization: `Bearer ${bound}` };
    const withIt = await httpsCall(`${tlsUrl}/api/v1/programs`, {
      serverCa: ca.certificatePem,
      certificate,
      headers,
    });
    expect(withIt.status).toBe(200);
    const withOther = await httpsCall(`${tlsUrl}/api/v1/programs`, {
      serverCa: ca.certificatePem,
      certificate: other,
      headers,
    });
    expect(withOther.status).toBe(401);
    expect(withOther.body.detail).toMatch(/bound to a client certificate/);
    const plain = await t.get('/api/v1/programs', bound);
    expect(plain.statusCode).toBe(401);
    expect(plain.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('says in its metadata that it binds tokens to certificates', async () => {
    expect((await t.get('/.well-known/oauth-authorization-server')).json()).toMatchObject({
      tls_client_certificate_bound_access_tokens: true,
    });
  });

  it('issues unbound tokens over plain HTTP, usable on either listener', async () => {
    const client = await registerClient(t);
    const token = await tokenFor(t, client.id);
    expect(decodeJwt(token).cnf).toBeUndefined();
    const certificate = await issueClientCertificate(ca, `${client.name}-any`, { days: 1 });
    const res = await httpsCall(`${tlsUrl}/api/v1/programs`, {
      serverCa: ca.certificatePem,
      certificate,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
  });
});
