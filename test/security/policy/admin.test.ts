import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea } from '#test/factories';
import { asAdmin, newClient, type TestClient } from '#test/clients';
import { setPolicy } from './helpers.ts';

describe('client policy admin API', () => {
  let t: TestApp;
  let client: TestClient;

  beforeAll(async () => {
    t = await createTestApp();
    await insertArea(t.database.db, 'R01');
    await insertArea(t.database.db, 'R01-D01', 'R01');
    client = await newClient(t, 'integrator');
  });
  afterAll(() => t.close());

  const url = () => `/api/v1/clients/${client.id}/policy`;
  const full = {
    agreement_ref: 'DSA-2025-014',
    description: 'Cash transfer MIS, northern region',
    operations: ['household.*', 'dci.*.search'],
    registries: ['social'],
    hidden_fields: ['contact', 'poverty_score'],
    purposes: ['cash_transfer'],
    area_codes: ['R01-D01'],
    rate_limit: 120,
    daily_quota: 10_000,
    valid_from: '2025-01-01T00:00:00.000Z',
    valid_until: '2099-12-31T00:00:00.000Z',
  };

  it('sets, reads and removes a policy, each change audited', async () => {
    expect((await asAdmin(t, 'GET', url())).statusCode).toBe(404);
    const saved = await setPolicy(t, client.id, full);
    expect(saved).toMatchObject({ ...full, client_id: client.id, updated_by: expect.any(String) });
    const read = await asAdmin(t, 'GET', url());
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(saved);

    // PUT replaces the whole policy: what it leaves out no longer restricts.
    const replaced = await setPolicy(t, client.id, { agreement_ref: 'DSA-2025-015' });
    expect(replaced).toMatchObject({
      operations: null,
      area_codes: null,
      hidden_fields: [],
      rate_limit: null,
    });

    expect((await asAdmin(t, 'DELETE', url())).statusCode).toBe(204);
    expect((await asAdmin(t, 'GET', url())).statusCode).toBe(404);
    expect((await asAdmin(t, 'DELETE', url())).statusCode).toBe(404);

    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_id', 'outcome'])
      .where('action', 'like', 'client.policy.%')
      .where('resource_id', '=', client.id)
      .orderBy('seq')
      .execute();
    expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual([
      'client.policy.read:invalid',
      'client.policy.update:success',
      'client.policy.read:success',
      'client.policy.update:success',
      'client.policy.delete:success',
      'client.policy.read:invalid',
      'client.policy.delete:invalid',
    ]);
  });

  it.each([
    ['an unknown field class', { hidden_fields: ['shoe_size'] }, '/hidden_fields/0'],
    ['an unknown registry', { registries: ['tax'] }, '/registries/0'],
    ['a bad operation pattern', { operations: ['household.**'] }, '/operations/0'],
    ['an operation no route has', { operations: ['household.read', 'households.list'] }, '/operations/1'],
    ['an admin area that does not exist', { area_codes: ['R01', 'R09'] }, '/area_codes/1'],
    ['an area code with wildcards', { area_codes: ['R0%'] }, '/area_codes/0'],
    ['a purpose with spaces', { purposes: ['cash transfer'] }, '/purposes/0'],
    ['an empty list', { purposes: [] }, '/purposes'],
    ['a rate limit of 0', { rate_limit: 0 }, '/rate_limit'],
    ['a negative quota', { daily_quota: -5 }, '/daily_quota'],
    [
      'an end before the start',
      { valid_from: '2025-06-01T00:00:00Z', valid_until: '2025-05-01T00:00:00Z' },
      '/valid_until',
    ],
    ['a date that is not one', { valid_until: 'next year' }, '/valid_until'],
    ['an unknown property', { regions: ['R01'] }, '/regions'],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_what, body, pointer) => {
    const res = await asAdmin(t, 'PUT', url(), { agreement_ref: 'DSA-BAD', ...body });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json<{ errors: { pointer: string }[] }>().errors.map((e) => e.pointer)).toContain(pointer);
    expect((await asAdmin(t, 'GET', url())).statusCode).toBe(404);
  });

  it('refuses a policy without its agreement reference', async () => {
    const res = await asAdmin(t, 'PUT', url(), { rate_limit: 10 });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ errors: { pointer: string }[] }>().errors).toEqual([
      expect.objectContaining({ pointer: '/agreement_ref' }),
    ]);
  });

  it('answers 404 for an unknown client and 400 for a malformed id', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const put = await asAdmin(t, 'PUT', `/api/v1/clients/${unknown}/policy`, { agreement_ref: 'DSA-1' });
    expect(put.statusCode).toBe(404);
    expect((await asAdmin(t, 'GET', `/api/v1/clients/${unknown}/policy`)).statusCode).toBe(404);
    expect((await asAdmin(t, 'GET', '/api/v1/clients/not-a-uuid/policy')).statusCode).toBe(400);
  });

  it('is for holders of clients:manage only', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: url(),
      headers: { authorization: `Bearer ${client.key}` },
      payload: { agreement_ref: 'DSA-SELF', rate_limit: 1_000_000 },
    });
    expect(res.statusCode).toBe(403);
    expect((await t.get(url(), client.key)).statusCode).toBe(403);
    expect((await t.get(url())).statusCode).toBe(401);
  });

  it('is documented in the OpenAPI document', async () => {
    const spec = (await t.get('/docs/json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(spec.paths['/api/v1/clients/{id}/policy'] ?? {}).sort()).toEqual([
      'delete',
      'get',
      'put',
    ]);
  });
});
