import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { newClient, type TestClient } from '#test/clients';

/** The data flow monitor: counts per client and operation, a time series, and the live stream. */

interface Total {
  client_id: string;
  client_name: string;
  action: string;
  requests: number;
  errors: number;
  error_rate: number;
  records: number;
  p95_ms: number | null;
}

let t: TestApp;
let mis: TestClient;

beforeAll(async () => {
  t = await createTestApp();
  mis = await newClient(t, 'integrator');
});
afterAll(() => t.close());

describe('monitor', () => {
  it('counts requests, errors, records and latency per client and operation', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await t.get('/api/v1/programs', mis.key)).statusCode).toBe(200);
    }
    expect((await t.get('/api/v1/clients', mis.key)).statusCode).toBe(403);
    const res = await t.get('/api/v1/monitor/traffic?window=hour', t.adminKey);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ totals: Total[]; series: { requests: number }[] }>();
    const mine = body.totals.filter(
      (row) => row.client_name === mis.id || row.client_name.startsWith('integrator-'),
    );
    expect(mine.find((row) => row.action === 'program.list')).toMatchObject({
      requests: 3,
      errors: 0,
      error_rate: 0,
    });
    expect(mine.find((row) => row.action === 'program.list')!.p95_ms).toBeGreaterThan(0);
    expect(mine.find((row) => row.action === 'client.list')).toMatchObject({
      requests: 1,
      errors: 1,
      error_rate: 1,
    });
    expect(body.series.reduce((sum, point) => sum + point.requests, 0)).toBeGreaterThanOrEqual(4);
    const day = await t.get('/api/v1/monitor/traffic?window=day', t.adminKey);
    expect(day.json<{ totals: Total[] }>().totals.length).toBeGreaterThan(0);
  });

  it('streams each request live to listeners (server-sent events)', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const controller = new AbortController();
    const stream = await fetch(`${url}/api/v1/monitor/events`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
      signal: controller.signal,
    });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = stream.body!.getReader();
    await fetch(`${url}/api/v1/programs`, { headers: { authorization: `Bearer ${mis.key}` } });
    let text = '';
    while (!text.includes('event: request')) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as Record<string, unknown>;
    expect(data).toMatchObject({ action: 'program.list', status: 200, client_id: mis.id });
  });

  it('refuses callers without metrics:read and bad windows', async () => {
    expect((await t.get('/api/v1/monitor/traffic', mis.key)).statusCode).toBe(403);
    expect((await t.get('/api/v1/monitor/events', mis.key)).statusCode).toBe(403);
    expect((await t.get('/api/v1/monitor/traffic?window=week', t.adminKey)).statusCode).toBe(400);
  });
});
