import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDciApp, type DciTestApp } from './harness.ts';

describe("a client's DCI callback settings (admin routes)", () => {
  let t: DciTestApp;
  let admin: string;
  let client: { id: string; key: string };

  beforeAll(async () => {
    t = await createDciApp();
    admin = await t.keyFor('admin');
    client = await t.clientFor('integrator');
  });
  afterAll(() => t.close());

  const call = (method: 'GET' | 'PUT', id: string, key: string | undefined, body?: unknown) =>
    t.app.inject({
      method,
      url: `/api/v1/clients/${id}/dci`,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  it('starts empty: no callback goes anywhere', async () => {
    const res = await call('GET', client.id, admin);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      client_id: client.id,
      callback_origins: [],
      callback_uri: null,
      allow_private_addresses: false,
      updated_at: null,
    });
  });

  it('stores origins normalised, and the default callback URI without its trailing slash', async () => {
    const res = await call('PUT', client.id, admin, {
      callback_origins: ['HTTPS://SPMIS.Example.org:443/', 'http://10.0.0.5:8080'],
      callback_uri: 'https://spmis.example.org/dci/',
      allow_private_addresses: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      callback_origins: ['https://spmis.example.org', 'http://10.0.0.5:8080'],
      callback_uri: 'https://spmis.example.org/dci',
      allow_private_addresses: true,
      updated_at: expect.any(String),
    });
    expect((await call('GET', client.id, admin)).json()).toEqual(res.json());
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_id', 'outcome'])
      .where('action', '=', 'client.dci_settings.update')
      .execute();
    expect(audit).toEqual([
      { action: 'client.dci_settings.update', resource_id: client.id, outcome: 'success' },
    ]);
  });

  it.each([
    ['an origin with a path', { callback_origins: ['https://a.example.org/x'] }, '/callback_origins/0'],
    ['a non-http origin', { callback_origins: ['ftp://a.example.org'] }, '/callback_origins/0'],
    ['credentials in an origin', { callback_origins: ['https://u:p@a.example.org'] }, '/callback_origins/0'],
    [
      'a callback URI outside the origins',
      { callback_origins: ['https://a.example.org'], callback_uri: 'https://b.example.org/dci' },
      '/callback_uri',
    ],
    ['an unknown property', { callback_origins: [], allow_everything: true }, '/allow_everything'],
    ['no origins', {}, '/callback_origins'],
  ])('refuses %s with a 400 problem naming the field', async (_name, body, pointer) => {
    const res = await call('PUT', client.id, admin, body);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  });

  it('answers a malformed or wrongly typed JSON body with a 400 problem, changing nothing', async () => {
    for (const payload of ['{"unterminated', '[1,2,3]', '"text"']) {
      const res = await call('PUT', client.id, admin, payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('answers an unknown client with 404 and a malformed id with 400', async () => {
    const unknown = await call('PUT', '00000000-0000-4000-8000-000000000000', admin, {
      callback_origins: [],
    });
    expect(unknown.statusCode).toBe(404);
    expect((await call('GET', 'not-an-id', admin)).statusCode).toBe(400);
  });

  it('is for admins only (clients:manage): a client may not widen its own callbacks', async () => {
    const res = await call('PUT', client.id, client.key, { callback_origins: ['https://evil.example.org'] });
    expect(res.statusCode).toBe(403);
    expect((await call('GET', client.id, undefined)).statusCode).toBe(401);
  });
});
