import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { createTestApp, type TestApp } from '#test/app';
import { installAccessControl } from './access-control.ts';
import type { App } from './types.ts';

/** Prometheus' own checker (Debian's `prometheus` package; `.ci/run` installs it). */
const PROMTOOL = process.env['SPX_PROMTOOL'] ?? '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
if (!hasPromtool) {
  console.warn(
    `[spx] promtool metrics check SKIPPED: no promtool at ${PROMTOOL} (apt-get install prometheus)`,
  );
}

describe('operations endpoints and errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('serves /health and /ready without a key', async () => {
    expect((await t.get('/health')).json()).toMatchObject({ status: 'ok' });
    expect((await t.get('/ready')).json()).toMatchObject({ status: 'ready', database: t.database.engine });
  });

  it('serves Prometheus metrics to holders of metrics:read only', async () => {
    expect((await t.get('/metrics')).statusCode).toBe(401);
    expect((await t.get('/metrics', await t.keyFor('analyst'))).statusCode).toBe(403);
    await t.get('/api/v1/programs', t.adminKey);
    const res = await t.get('/metrics', t.adminKey);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('spx_http_requests_total{method="GET",route="/api/v1/programs",status="200"}');
  });

  it.skipIf(!hasPromtool)('serves metrics that pass `promtool check metrics`', async () => {
    const res = await t.get('/metrics', t.adminKey);
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('publishes an OpenAPI 3.1 document with every API route and its security', async () => {
    const doc = (await t.get('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/api/v1/households',
      '/api/v1/households/{id}',
      '/api/v1/individuals/{id}',
      '/api/v1/individuals/{id}/enrollments',
      '/api/v1/programs',
      '/health',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
    // An API key, or an OAuth access token holding the route's permission as a scope.
    expect(doc.paths['/api/v1/programs'].get.security).toEqual([
      { apiKey: [] },
      { bearer: [] },
      { oauth2: ['registry:read'] },
    ]);
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it('serves the interactive docs page', async () => {
    const res = await t.get('/docs/');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('swagger');
  });

  it('answers unknown routes with a 404 problem and sets security headers', async () => {
    const res = await t.get('/nowhere');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('refuses an oversized body with 413 and never returns a stack', async () => {
    const small = await createTestApp({ bodyLimit: 1024 });
    try {
      const res = await small.app.inject({
        method: 'POST',
        url: '/api/v1/clients',
        headers: { authorization: `Bearer ${small.adminKey}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'x'.repeat(5000), role: 'analyst' }),
      });
      expect(res.statusCode).toBe(413);
      expect(res.body).not.toContain('at ');
    } finally {
      await small.close();
    }
  });

  it('fails the start when a route declares no access', async () => {
    const bare = Fastify() as unknown as App;
    installAccessControl(bare, t.database.db);
    expect(() => bare.get('/undeclared', async () => 'x')).toThrow(/declares no access/);
    await bare.close();
  });
});
