import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  issueClientCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
} from '#security/tls/issue';
import { registerClient } from '#test/clients';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea } from '#test/factories';

/**
 * A caller never attaches a credential wider than its own: a key holding only clients:manage once
 * registered a certificate to an admin client and read the audit trail through it. Every way of
 * attaching a credential to a client is walked here, each refused for a narrower caller and
 * accepted, with the same body, for a caller who holds all the client would get.
 */
describe('credentials never reach beyond the caller who attaches them', () => {
  let t: TestApp;
  let providerId: string;
  let ca: CertificateAuthority;

  beforeAll(async () => {
    t = await createTestApp();
    await insertArea(t.database.db, 'R01');
    await insertArea(t.database.db, 'R01-D01', 'R01');
    await insertArea(t.database.db, 'R02');
    const provider = await call('POST', '/api/v1/identity-providers', t.adminKey, {
      name: `idp-${hex()}`,
      issuer: 'https://idp.example',
      jwks_uri: 'https://idp.example/certs',
      audience: 'spx',
    });
    providerId = provider.json<{ id: string }>().id;
    ca = await loadCertificateAuthority(await createCertificateAuthority('Reach CA', { days: 1 }));
  });
  afterAll(() => t.close());

  const hex = () => randomBytes(6).toString('hex');
  const call = (method: 'POST' | 'PUT' | 'DELETE', url: string, key: string, body?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
  const jwk = (kind: 'ed25519' | 'x25519') =>
    generateKeyPairSync(kind as 'ed25519').publicKey.export({ format: 'jwk' });

  /** Every way to attach a credential to a client, each with a fresh valid body. */
  type Attachment = (
    client: string,
  ) => ['POST' | 'PUT', string, unknown] | Promise<['POST', string, unknown]>;
  const attachments: [string, Attachment][] = [
    ['an API key', (c) => ['POST', `/api/v1/clients/${c}/keys`, {}]],
    ['an OAuth client secret', (c) => ['POST', `/api/v1/clients/${c}/oauth/secrets`, {}]],
    ['a private_key_jwt key', (c) => ['POST', `/api/v1/clients/${c}/oauth/keys`, { jwk: jwk('ed25519') }]],
    [
      'a private_key_jwt JWKS URL',
      (c) => ['POST', `/api/v1/clients/${c}/oauth/keys`, { jwks_uri: `https://mis.example/${hex()}/jwks` }],
    ],
    [
      'an identity provider link',
      (c) => [
        'POST',
        `/api/v1/clients/${c}/oauth/identities`,
        { provider_id: providerId, external_id: hex() },
      ],
    ],
    [
      'a client certificate by PEM',
      async (c) => {
        const { certificatePem } = await issueClientCertificate(ca, `reach-${hex()}`, { days: 1 });
        return ['POST', `/api/v1/clients/${c}/certificates`, { pem: certificatePem }];
      },
    ],
    [
      'a client certificate by thumbprint',
      (c) => [
        'POST',
        `/api/v1/clients/${c}/certificates`,
        { thumbprint: randomBytes(32).toString('base64url') },
      ],
    ],
    [
      'a client certificate by subject',
      (c) => ['POST', `/api/v1/clients/${c}/certificates`, { subject: `CN=${hex()}, O=Ministry` }],
    ],
    ['a DCI signing key', (c) => ['POST', `/api/v1/clients/${c}/dci/keys`, { jwk: jwk('ed25519') }]],
    [
      'a DCI encryption key',
      (c) => ['POST', `/api/v1/clients/${c}/dci/keys`, { jwk: jwk('x25519'), use: 'enc' }],
    ],
    [
      'a DCI JWKS URL',
      (c) => ['PUT', `/api/v1/clients/${c}/dci/signature`, { jwks_uri: 'https://mis.example/jwks' }],
    ],
  ];

  const attach = async (what: Attachment, client: string, key: string) => {
    const [method, url, body] = await what(client);
    return call(method, url, key, body);
  };
  const expectRefused = (res: LightMyRequestResponse, detail: RegExp) => {
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json<{ detail: string }>().detail).toMatch(detail);
  };

  it.each(attachments)(
    'a key holding only clients:manage may not attach %s to an admin client',
    async (_name, what) => {
      const narrow = await t.keyFor('admin', ['clients:manage']);
      const admin = (await registerClient(t, 'admin')).id;
      expectRefused(
        await attach(what, admin, narrow),
        /would grant registry:read, registry:write, .*audit:read/,
      );
      // The same body from a caller holding everything an admin holds.
      expect((await attach(what, admin, t.adminKey)).statusCode).toBeLessThan(300);
    },
  );

  it('a key holding only clients:manage may suspend an admin client but not enable it again', async () => {
    const narrow = await t.keyFor('admin', ['clients:manage']);
    const admin = (await registerClient(t, 'admin')).id;
    const patch = (key: string, disabled: boolean) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/v1/clients/${admin}`,
        headers: { authorization: `Bearer ${key}` },
        payload: { disabled },
      });
    expect((await patch(narrow, true)).statusCode).toBe(200);
    expectRefused(await patch(narrow, false), /cannot enable this client: it would grant registry:read/);
    expect((await patch(t.adminKey, false)).json()).toMatchObject({ disabled_at: null });
  });

  it('a caller under an agreement attaches credentials only within its own fields and areas', async () => {
    const operator = (await registerClient(t, 'admin')).id;
    const operatorKey = (await call('POST', `/api/v1/clients/${operator}/keys`, t.adminKey, {})).json<{
      key: string;
    }>().key;
    const agreement = { agreement_ref: 'DSA-OPS', hidden_fields: ['contact'], area_codes: ['R01'] };
    expect((await call('PUT', `/api/v1/clients/${operator}/policy`, t.adminKey, agreement)).statusCode).toBe(
      200,
    );

    // An integrator without an agreement sees contacts and every area: nothing may be attached to it.
    const mis = (await registerClient(t, 'integrator')).id;
    for (const [, what] of attachments) {
      expectRefused(
        await attach(what, mis, operatorKey),
        /show the field classes contact, which are hidden from you; reach admin areas outside yours \(R01\)/,
      );
    }
    // Nor may the operator widen an agreement beyond its own, or lift one.
    const narrowMis = { agreement_ref: 'DSA-MIS', hidden_fields: ['contact'], area_codes: ['R01-D01'] };
    expectRefused(
      await call('PUT', `/api/v1/clients/${mis}/policy`, operatorKey, { ...narrowMis, area_codes: ['R02'] }),
      /reach admin areas outside yours/,
    );
    expectRefused(
      await call('PUT', `/api/v1/clients/${mis}/policy`, operatorKey, { ...narrowMis, hidden_fields: [] }),
      /show the field classes contact/,
    );
    expect((await call('PUT', `/api/v1/clients/${mis}/policy`, operatorKey, narrowMis)).statusCode).toBe(200);
    // Within its fields and areas now: every credential may be attached.
    for (const [name, what] of attachments) {
      expect((await attach(what, mis, operatorKey)).statusCode, name).toBeLessThan(300);
    }
    expectRefused(await call('DELETE', `/api/v1/clients/${mis}/policy`, operatorKey), /contact/);
  });
});
