import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { newClient } from '#test/clients';

/** Console sign-in: a session cookie on the API key, CSRF on changes, ending with the key or sign-out. */

let t: TestApp;

const signIn = (apiKey: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/console/session', payload: { api_key: apiKey } });
const cookieOf = (res: { headers: Record<string, unknown> }) =>
  String(res.headers['set-cookie']).split(';')[0]!;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('console session', () => {
  it('signs in with an API key: an HttpOnly, SameSite=Strict cookie and a CSRF token', async () => {
    const res = await signIn(t.adminKey);
    expect(res.statusCode, res.body).toBe(201);
    expect(String(res.headers['set-cookie'])).toMatch(
      /^spx_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
    const body = res.json<{ client: { role: string }; permissions: string[]; csrf_token: string }>();
    expect(body.client.role).toBe('admin');
    expect(body.permissions).toContain('clients:manage');
    const who = await t.app.inject({
      method: 'GET',
      url: '/api/v1/console/session',
      headers: { cookie: cookieOf(res) },
    });
    expect(who.json()).toMatchObject({ csrf_token: body.csrf_token });
    const audit = await t.get('/api/v1/audit?action=console.sign_in', t.adminKey);
    expect(audit.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
  });

  it('treats a forged cookie with a malformed escape as no session (401, not a server error)', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/console/session',
      headers: { cookie: 'spx_session=%E0%A4%A' },
    });
    expect(res.statusCode, res.body).toBe(401);
    const api = await t.app.inject({
      method: 'GET',
      url: '/api/v1/clients',
      headers: { cookie: 'spx_session=%E0%A4%A' },
    });
    expect(api.statusCode, api.body).toBe(401);
  });

  it('uses the admin API with the cookie; changes need the CSRF token', async () => {
    const res = await signIn(t.adminKey);
    const cookie = cookieOf(res);
    const csrf = res.json<{ csrf_token: string }>().csrf_token;
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/clients', headers: { cookie } })).statusCode,
    ).toBe(200);
    const payload = { name: `console-made-${Date.now()}`, role: 'integrator' };
    const forged = await t.app.inject({
      method: 'POST',
      url: '/api/v1/clients',
      headers: { cookie },
      payload,
    });
    expect(forged.statusCode).toBe(401);
    expect(forged.json<{ detail: string }>().detail).toMatch(/CSRF token/);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/clients',
      headers: { cookie, 'x-csrf-token': 'x'.repeat(43) },
      payload,
    });
    expect(wrong.statusCode).toBe(401);
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/v1/clients',
      headers: { cookie, 'x-csrf-token': csrf },
      payload,
    });
    expect(made.statusCode, made.body).toBe(201);
  });

  it('ends when the key is revoked, and on sign-out', async () => {
    const client = await newClient(t, 'integrator');
    const res = await signIn(client.key);
    const cookie = cookieOf(res);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie } })).statusCode,
    ).toBe(200);
    // An integrator may not manage clients, signed in or not.
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/clients', headers: { cookie } })).statusCode,
    ).toBe(403);
    const keys = await t.get(`/api/v1/clients/${client.id}/keys`, t.adminKey);
    const keyId = keys.json<{ items: { id: string }[] }>().items[0]!.id;
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${keyId}`,
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie } })).statusCode,
    ).toBe(401);

    const admin = await signIn(t.adminKey);
    const adminCookie = cookieOf(admin);
    // Signing out is a change like any other: without the session's CSRF token it is refused.
    for (const forged of [{}, { 'x-csrf-token': 'x'.repeat(43) }]) {
      const refused = await t.app.inject({
        method: 'DELETE',
        url: '/api/v1/console/session',
        headers: { cookie: adminCookie, ...forged },
      });
      expect(refused.statusCode).toBe(401);
      expect(refused.json<{ detail: string }>().detail).toMatch(/CSRF token/);
    }
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie: adminCookie } }))
        .statusCode,
    ).toBe(200);
    const out = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/console/session',
      headers: { cookie: adminCookie, 'x-csrf-token': admin.json<{ csrf_token: string }>().csrf_token },
    });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^spx_session=; .*Max-Age=0/);
    const after = await t.app.inject({
      method: 'GET',
      url: '/api/v1/programs',
      headers: { cookie: adminCookie },
    });
    expect(after.statusCode).toBe(401);
    expect(after.json<{ detail: string }>().detail).toMatch(/session has ended/);
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/api/v1/console/session',
          headers: { cookie: adminCookie },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('refuses wrong keys and bad input', async () => {
    expect((await signIn('spx_nope_nope')).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/console/session', payload: {} })).statusCode,
    ).toBe(400);
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/api/v1/programs',
          headers: { cookie: 'spx_session=forged' },
        })
      ).statusCode,
    ).toBe(401);
  });
});
