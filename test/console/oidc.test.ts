import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#config/load';
import { consoleOidcSettings } from '#console-server/oidc/flow';
import { OpenIdProvider } from '#console-server/oidc/provider';
import type { ProviderRecord } from '#security/oauth/providers';
import { systemResolve } from '#platform/outbound/address';
import { createTestApp } from '#test/app';
import { startOpenIdProvider } from '#test/oidc-provider';
import { createOidcWorld, type OidcWorld } from './oidc.ts';

/**
 * Console sign-in through an OpenID provider (authorization code with PKCE), the browser played by
 * fetch following redirects by hand: a session on the identity link of the person who signed in,
 * and every way the answer can be wrong refused with a code for the console, never provider text.
 */

let w: OidcWorld;

/** Cookies a response sets, as a Cookie header (`name=value; ...`). */
const cookiesOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]!)
    .join('; ');

/** The browser's journey up to the provider's redirect back: the callback URL and the binding cookie. */
async function toCallback(login: { subject?: string; error?: string } = {}, world = w) {
  const start = await fetch(`${world.origin}/api/v1/console/oidc/start`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  if (login.error) {
    authorize.searchParams.set('test_error', login.error);
  }
  authorize.searchParams.set('test_subject', login.subject ?? 'nobody');
  const back = await fetch(authorize, { redirect: 'manual' });
  expect(back.status).toBe(302);
  return { callback: new URL(back.headers.get('location')!), binding: cookiesOf(start), start };
}

/** The callback with this URL and cookie: where it sends the browser, and the cookies it sets. */
async function callback(url: URL | string, cookie: string) {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  expect(res.status).toBe(302);
  return { location: res.headers.get('location'), cookies: res.headers.getSetCookie(), res };
}

const signInError = (location: string | null) =>
  new URL(location ?? '', w.origin).searchParams.get('sign_in_error');

async function signIn(subject: string, world = w) {
  const { callback: url, binding } = await toCallback({ subject }, world);
  return callback(url, binding);
}

const sessionOf = (cookie: string) => fetch(`${w.origin}/api/v1/console/session`, { headers: { cookie } });

beforeAll(async () => {
  w = await createOidcWorld({ clientSecret: 'console-secret-of-the-test' });
});
afterAll(() => w?.close());

describe('console sign-in through an OpenID provider', () => {
  it('tells the console it is on, and the provider by name', async () => {
    const res = await fetch(`${w.origin}/api/v1/console/oidc`);
    expect(await res.json()).toEqual({ enabled: true, provider: w.providerName });
  });

  it('redirects to the provider with code, PKCE S256, state and nonce; binds the login to the browser', async () => {
    const { start } = await toCallback();
    const location = new URL(start.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${w.idp.issuer}/authorize`);
    const q = Object.fromEntries(location.searchParams);
    expect(q).toMatchObject({
      response_type: 'code',
      scope: 'openid',
      client_id: w.idp.clientId,
      redirect_uri: `${w.origin}/api/v1/console/oidc/callback`,
      code_challenge_method: 'S256',
    });
    expect(q['state']).toMatch(/^[\w-]{43}$/);
    expect(q['nonce']).toMatch(/^[\w-]{43}$/);
    expect(q['code_challenge']).toMatch(/^[\w-]{43}$/);
    expect(start.headers.getSetCookie()[0]).toMatch(
      /^spx_oidc_login=[\w-]{43}; Path=\/api\/v1\/console\/oidc; HttpOnly; SameSite=Lax; Max-Age=600$/,
    );
  });

  it('signs a linked person in: a working session on the identity link, audited', async () => {
    const person = await w.person('admin');
    const { location, cookies } = await signIn(person.subject);
    expect(location).toBe('/console/');
    expect(w.idp.refusals).toEqual([]);
    expect(cookies).toContainEqual(expect.stringMatching(/^spx_oidc_login=; .*Max-Age=0/));
    const session = cookies.find((c) => c.startsWith('spx_session='))!;
    expect(session).toMatch(/^spx_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const who = await sessionOf(session.split(';')[0]!);
    expect(who.status).toBe(200);
    const body = (await who.json()) as { client: { id: string; role: string }; permissions: string[] };
    expect(body.client).toMatchObject({ id: person.clientId, role: 'admin' });
    expect(body.permissions).toContain('clients:manage');
    const audit = await w.t.get(
      `/api/v1/audit?action=console.sign_in&client_id=${person.clientId}`,
      w.t.adminKey,
    );
    expect(audit.json<{ items: { outcome: string }[] }>().items).toMatchObject([{ outcome: 'success' }]);
  });

  it('refuses a state it did not issue, or none', async () => {
    const person = await w.person();
    const { callback: url, binding } = await toCallback({ subject: person.subject });
    const wrong = new URL(url);
    wrong.searchParams.set('state', 'x'.repeat(43));
    expect(signInError((await callback(wrong, binding)).location)).toBe('state');
    const none = new URL(url);
    none.searchParams.delete('state');
    expect(signInError((await callback(none, binding)).location)).toBe('state');
  });

  it('refuses an answer brought by a browser without the binding cookie, or another browser’s', async () => {
    const person = await w.person();
    const first = await toCallback({ subject: person.subject });
    const noCookie = await callback(first.callback, '');
    expect(signInError(noCookie.location)).toBe('state');
    expect(noCookie.cookies.some((c) => c.startsWith('spx_session='))).toBe(false);
    // An attacker's own login answered into the victim's browser (login CSRF).
    const attacker = await toCallback({ subject: person.subject });
    const victim = await toCallback({ subject: person.subject });
    expect(signInError((await callback(attacker.callback, victim.binding)).location)).toBe('state');
  });

  it('refuses a malformed answer with a redirect too', async () => {
    const url = `${w.origin}/api/v1/console/oidc/callback?state=${'x'.repeat(600)}&code=c`;
    expect(signInError((await callback(url, '')).location)).toBe('provider');
  });

  it('uses a state once', async () => {
    const person = await w.person();
    const { callback: url, binding } = await toCallback({ subject: person.subject });
    expect((await callback(url, binding)).location).toBe('/console/');
    expect(signInError((await callback(url, binding)).location)).toBe('state');
  });

  it('refuses a login older than ten minutes', async () => {
    const person = await w.person();
    const { callback: url, binding } = await toCallback({ subject: person.subject });
    await w.t.database.db
      .updateTable('console_oidc_logins')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute();
    expect(signInError((await callback(url, binding)).location)).toBe('expired');
  });

  it('says the person cancelled at the provider, and never repeats the provider’s text', async () => {
    const { callback: url, binding } = await toCallback({ error: 'access_denied' });
    expect(url.searchParams.get('error_description')).toContain('<script>');
    const { location, res } = await callback(url, binding);
    expect(location).toBe('/console/?sign_in_error=cancelled');
    expect(await res.text()).not.toContain('script');
    const other = await toCallback({ error: 'temporarily_unavailable' });
    expect(signInError((await callback(other.callback, other.binding)).location)).toBe('provider');
  });

  it.each([
    ['signed by a key the provider does not publish', { foreignKey: true }],
    ['for another client', { claims: { aud: 'another-client' } }],
    ['answering another sign-in', { claims: { nonce: 'another-nonce' } }],
    ['of another issuer', { claims: { iss: 'https://elsewhere.example' } }],
    ['expired', { claims: { exp: Math.floor(Date.now() / 1000) - 600 } }],
  ])('refuses an ID token %s', async (_case, next) => {
    const person = await w.person();
    const { callback: url, binding } = await toCallback({ subject: person.subject });
    w.idp.next = next;
    const { location, cookies } = await callback(url, binding);
    expect(signInError(location)).toBe('token');
    expect(cookies.some((c) => c.startsWith('spx_session='))).toBe(false);
  });

  it('refuses an identity linked to no client', async () => {
    expect(signInError((await signIn('someone-unknown')).location)).toBe('not_linked');
  });

  it('refuses a person whose client is disabled, and audits it', async () => {
    const person = await w.person();
    const disable = await w.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/clients/${person.clientId}`,
      headers: { authorization: `Bearer ${w.t.adminKey}` },
      payload: { disabled: true },
    });
    expect(disable.statusCode, disable.body).toBe(200);
    expect(signInError((await signIn(person.subject)).location)).toBe('refused');
    const audit = await w.t.get(
      `/api/v1/audit?action=console.sign_in&client_id=${person.clientId}`,
      w.t.adminKey,
    );
    expect(audit.json<{ items: { outcome: string }[] }>().items).toMatchObject([{ outcome: 'denied' }]);
  });

  it('ends the session when the identity link is revoked', async () => {
    const person = await w.person('integrator');
    const { cookies } = await signIn(person.subject);
    const cookie = cookies.find((c) => c.startsWith('spx_session='))!.split(';')[0]!;
    expect((await fetch(`${w.origin}/api/v1/programs`, { headers: { cookie } })).status).toBe(200);
    const revoke = await w.t.app.inject({
      method: 'DELETE',
      url: `/api/v1/clients/${person.clientId}/oauth/credentials/${person.credentialId}`,
      headers: { authorization: `Bearer ${w.t.adminKey}` },
    });
    expect(revoke.statusCode, revoke.body).toBe(200);
    expect((await fetch(`${w.origin}/api/v1/programs`, { headers: { cookie } })).status).toBe(401);
    expect((await sessionOf(cookie)).status).toBe(401);
  });
});

describe('console sign-in through a provider, as a public client', () => {
  it('signs in with PKCE alone (no client secret)', async () => {
    const publicWorld = await createOidcWorld();
    try {
      const person = await publicWorld.person();
      const { location } = await signIn(person.subject, publicWorld);
      expect(location).toBe('/console/');
      expect(publicWorld.idp.refusals).toEqual([]);
    } finally {
      await publicWorld.close();
    }
  });
});

describe('console sign-in through a provider, off', () => {
  it('says so, and start answers a problem', async () => {
    const t = await createTestApp();
    try {
      expect((await t.get('/api/v1/console/oidc')).json()).toEqual({ enabled: false });
      const start = await t.get('/api/v1/console/oidc/start');
      expect(start.statusCode).toBe(404);
      expect(start.headers['content-type']).toContain('application/problem+json');
      expect(start.json<{ detail: string }>().detail).toMatch(/SPX_CONSOLE_OIDC_PROVIDER/);
    } finally {
      await t.close();
    }
  });
});

describe('console sign-in settings and discovery', () => {
  it('stops the start on half a configuration, naming the missing variable', () => {
    const half = loadConfig({ SPX_CONSOLE_OIDC_PROVIDER: 'Ministry IdP' });
    expect(() => consoleOidcSettings(half)).toThrow(ConfigError);
    expect(() => consoleOidcSettings(half)).toThrow(/SPX_CONSOLE_OIDC_CLIENT_ID/);
    const orphan = loadConfig({ SPX_CONSOLE_OIDC_CLIENT_ID: 'spx-console' });
    expect(() => consoleOidcSettings(orphan)).toThrow(/SPX_CONSOLE_OIDC_PROVIDER/);
    expect(consoleOidcSettings(loadConfig({}))).toBeUndefined();
  });

  it('reads the endpoints of a provider whose discovery names its issuer, on an allowed address only', async () => {
    const idp = await startOpenIdProvider();
    try {
      const calls = new OpenIdProvider({ resolve: systemResolve, timeoutMs: 2000 });
      const record = (issuer: string, allowPrivate: boolean) =>
        ({ id: issuer, issuer, allow_private_addresses: allowPrivate }) as ProviderRecord;
      await expect(calls.metadata(record(idp.issuer, true))).resolves.toEqual({
        authorizationEndpoint: `${idp.issuer}/authorize`,
        tokenEndpoint: `${idp.issuer}/token`,
      });
      // Registered with a trailing slash: the document names the issuer without it.
      await expect(calls.metadata(record(`${idp.issuer}/`, true))).rejects.toThrow(/another issuer/);
      await expect(calls.metadata(record(idp.issuer, false))).rejects.toThrow(/private or loopback/);
    } finally {
      await idp.close();
    }
  });
});
