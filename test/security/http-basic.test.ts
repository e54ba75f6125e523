import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';

interface Operation {
  security?: unknown[];
}

/**
 * HTTP Basic, for ODK Collect, is accepted on the OpenRosa routes and from clients an administrator
 * allowed it; every other route of the OpenAPI document refuses it, whatever the key.
 */
describe('HTTP Basic only where it is needed', () => {
  let t: TestApp;

  beforeAll(async () => {
    // The walk fails authentication on every route from one address: the anomaly guard would
    // rightly throttle it after a few.
    t = await createTestApp({ anomalyGuard: false });
  });
  afterAll(() => t.close());

  const basic = (key: string) => `Basic ${Buffer.from(`collect-user:${key}`).toString('base64')}`;
  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');

  it('is refused on every authenticated route of the API, even with an admin key', async () => {
    const doc = (await t.get('/openapi.json')).json<{ paths: Record<string, Record<string, Operation>> }>();
    const guarded = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        // Public routes declare `security: []`; the OpenRosa routes take HTTP Basic by design.
        .filter(([, op]) => (op.security?.length ?? 0) > 0 && !path.startsWith('/odk/'))
        .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    );
    expect(guarded.length).toBeGreaterThan(50);
    for (const { method, path } of guarded) {
      const res = await t.app.inject({
        method: method as 'GET',
        url: concrete(path),
        headers: { authorization: basic(t.adminKey) },
      });
      expect(res.statusCode, `${method} ${path}`).toBe(401);
      expect(res.body, `${method} ${path}`).toMatch(/HTTP Basic is accepted only on the OpenRosa routes/);
    }
  });

  it('is accepted on the OpenRosa routes, and everywhere from a client allowed it', async () => {
    const agent = await t.keyFor('field_agent');
    const formList = await t.app.inject({
      method: 'GET',
      url: '/odk/formList',
      headers: { authorization: basic(agent) },
    });
    expect(formList.statusCode, formList.body).toBe(200);

    const clients = await t.get('/api/v1/clients', t.adminKey);
    const admin = clients.json<{ items: { id: string; http_basic: boolean }[] }>().items[0]!;
    expect(admin.http_basic).toBe(false);
    const allow = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/clients/${admin.id}`,
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: { http_basic: true },
    });
    expect(allow.json()).toMatchObject({ id: admin.id, http_basic: true });
    const viaBasic = await t.app.inject({
      method: 'GET',
      url: '/api/v1/clients',
      headers: { authorization: basic(t.adminKey) },
    });
    expect(viaBasic.statusCode, viaBasic.body).toBe(200);
  });
});
