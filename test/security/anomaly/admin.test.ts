import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { asAdmin } from '#test/clients';
import { alertsOf, MINUTE, scriptedClient, TestClock, type ScriptedClient } from './support.ts';

describe('anomaly guard: the admin API', () => {
  const clock = new TestClock(Date.parse('2025-03-04T10:00:00Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ anomalyEnumerationDistinct: 10 }, [], { now: clock.now });
  });
  afterAll(() => t.close());

  /** Ten guessed record ids, all not found (the tenth trips the enumeration rule). */
  async function guess(client: ScriptedClient) {
    for (let i = 0; i < 10; i += 1) {
      clock.advance(1000);
      expect((await client.get(`/api/v1/households/${randomUUID()}`)).statusCode).toBe(404);
    }
  }

  /** An enumeration: a throttle and its alert. */
  async function enumerate(client: ScriptedClient) {
    await guess(client);
    expect((await client.get('/api/v1/programs')).statusCode).toBe(429);
    const [alert] = await alertsOf(t, `?client_id=${client.id}`);
    return alert!;
  }

  it('lists, filters and shows alerts; acknowledging keeps the first acknowledgement', async () => {
    const client = await scriptedClient(t);
    const alert = await enumerate(client);
    expect(alert).toMatchObject({ rule: 'record_enumeration', acknowledged_at: null });
    expect((await alertsOf(t, '?status=open')).map((a) => a.id)).toContain(alert.id);
    expect(await alertsOf(t, `?client_id=${client.id}&rule=volume_spike`)).toEqual([]);

    const one = await asAdmin(t, 'GET', `/api/v1/anomaly/alerts/${alert.id}`);
    expect(one.json()).toMatchObject({ id: alert.id, client_id: client.id, action: 'throttle' });

    const acked = await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${alert.id}/acknowledge`);
    expect(acked.statusCode).toBe(200);
    expect(acked.json().acknowledged_at).toBe(new Date(clock.ms).toISOString());
    clock.advance(MINUTE);
    const again = await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${alert.id}/acknowledge`);
    expect(again.json().acknowledged_at).toBe(acked.json().acknowledged_at);
    expect((await alertsOf(t, '?status=open')).map((a) => a.id)).not.toContain(alert.id);
    expect((await alertsOf(t, '?status=acknowledged')).map((a) => a.id)).toContain(alert.id);
    // Acknowledging does not lift the throttle.
    expect((await client.get('/api/v1/programs')).statusCode).toBe(429);
  });

  it('lifts a throttle at once, and the lift is audited', async () => {
    const client = await scriptedClient(t);
    const alert = await enumerate(client);
    const lifted = await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${alert.id}/lift`);
    expect(lifted.statusCode).toBe(200);
    expect(lifted.json()).toMatchObject({
      lifted_by: expect.any(String),
      acknowledged_at: expect.any(String),
    });
    expect((await client.get('/api/v1/programs')).statusCode).toBe(200);
    expect((await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${alert.id}/lift`)).statusCode).toBe(409);

    const audit = await asAdmin(t, 'GET', `/api/v1/audit?action=anomaly.alert.lift&resource_id=${alert.id}`);
    expect(audit.json().items).toHaveLength(2);
    expect(
      audit
        .json()
        .items.map((e: { status_code: number }) => e.status_code)
        .sort(),
    ).toEqual([200, 409]);
  });

  it('re-enables a suspended client, which is then judged afresh', async () => {
    const client = await scriptedClient(t);
    await enumerate(client);
    clock.advance(16 * MINUTE);
    await guess(client);
    const [suspended] = await alertsOf(t, `?client_id=${client.id}`);
    expect(suspended).toMatchObject({ action: 'suspend' });
    expect((await client.get('/api/v1/programs')).statusCode).toBe(401);

    expect((await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${suspended!.id}/lift`)).statusCode).toBe(200);
    expect((await client.get('/api/v1/programs')).statusCode).toBe(200);
    const history = await alertsOf(t, `?client_id=${client.id}`);
    expect(history.map((a) => [a.action, Boolean(a.lifted_at)])).toEqual([
      ['suspend', true],
      ['throttle', true],
    ]);
    // A strike lifted does not count: the next enumeration throttles again rather than suspending.
    const next = await enumerate(client);
    expect(next.action).toBe('throttle');
  });

  it("shows a client's baseline, and 404 for an unknown client", async () => {
    const client = await scriptedClient(t);
    clock.advance(MINUTE);
    await client.get(`/api/v1/households/${randomUUID()}`);
    const seen = await asAdmin(t, 'GET', `/api/v1/anomaly/clients/${client.id}`);
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).toMatchObject({
      client_id: client.id,
      throttled_for_seconds: 0,
      baseline: { active_hours: 0, requests_by_hour_of_day: Array.from({ length: 24 }, () => 0) },
      window: { minutes: 10, requests: 1, lookups: 1, misses: 1, distinct_keys: 1 },
    });
    expect((await asAdmin(t, 'GET', `/api/v1/anomaly/clients/${randomUUID()}`)).statusCode).toBe(404);
  });

  it('refuses bad input with a clear problem', async () => {
    const cases: [string, string, number, string][] = [
      ['GET', '/api/v1/anomaly/alerts?rule=nonsense', 400, 'rule'],
      ['GET', '/api/v1/anomaly/alerts?status=closed', 400, 'status'],
      ['GET', '/api/v1/anomaly/alerts?client_id=42', 400, 'client_id'],
      ['GET', '/api/v1/anomaly/alerts?colour=red', 400, 'colour'],
      ['GET', '/api/v1/anomaly/alerts?limit=0', 400, 'limit'],
      ['GET', '/api/v1/anomaly/alerts?cursor=garbage', 400, 'cursor'],
      ['GET', '/api/v1/anomaly/alerts/42', 400, 'id'],
      ['POST', '/api/v1/anomaly/alerts/42/lift', 400, 'id'],
      ['GET', `/api/v1/anomaly/alerts/${randomUUID()}`, 404, ''],
      ['POST', `/api/v1/anomaly/alerts/${randomUUID()}/acknowledge`, 404, ''],
      ['POST', `/api/v1/anomaly/alerts/${randomUUID()}/lift`, 404, ''],
      ['GET', '/api/v1/anomaly/clients/42', 400, 'id'],
    ];
    for (const [method, url, status, pointer] of cases) {
      const res = await asAdmin(t, method as 'GET' | 'POST', url);
      expect(res.statusCode, url).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      if (pointer) {
        expect(
          res
            .json()
            .errors.map((e: { pointer: string }) => e.pointer)
            .join(' '),
          url,
        ).toContain(pointer);
      }
    }
  });

  it('refuses to lift an alert that throttled nothing', async () => {
    const [row] = await t.database.db
      .insertInto('anomaly_alerts')
      .values({
        source: 'key:abcdefabcdef',
        rule: 'key_failures',
        severity: 'warning',
        action: 'alert',
        evidence: '{"failures":30}',
      })
      .returning('id')
      .execute();
    const res = await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${row!.id}/lift`);
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toContain('acknowledge it instead');
  });

  it('lets audit readers read alerts and only client managers act on them', async () => {
    const [alert] = await alertsOf(t);
    const integrator = await scriptedClient(t);
    expect((await integrator.get('/api/v1/anomaly/alerts')).statusCode).toBe(403);
    const auditor = await t.keyFor('admin', ['audit:read']);
    expect((await asAdmin(t, 'GET', '/api/v1/anomaly/alerts', undefined, auditor)).statusCode).toBe(200);
    const ack = await asAdmin(
      t,
      'POST',
      `/api/v1/anomaly/alerts/${alert!.id}/acknowledge`,
      undefined,
      auditor,
    );
    expect(ack.statusCode).toBe(403);
    expect(ack.json().detail).toContain('clients:manage');
  });
});
