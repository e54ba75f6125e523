import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { seedRegistry } from '#test/dci/fixtures';
import { asAdmin } from '#test/clients';
import { alertsOf, MINUTE, scriptedClient, TestClock } from './support.ts';

describe('anomaly guard: enumeration attacks', () => {
  const clock = new TestClock(Date.parse('2025-03-04T10:00:00Z'));
  let t: TestApp;
  let persons: Record<string, string>;

  beforeAll(async () => {
    // Default thresholds.
    t = await createTestApp({}, [], { now: clock.now });
    ({ persons } = await seedRegistry(t.database.db));
  });
  afterAll(() => t.close());

  it('throttles a client walking national ids over DCI, then suspends it when it walks again', async () => {
    const walker = await scriptedClient(t);
    // A scraper walking a number series, one lookup a second; only a few ids exist.
    let next = 1_000_100;
    const walk = async (steps: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < steps; i += 1) {
        clock.advance(1000);
        statuses.push((await walker.lookUp('UIN', `NIN-${next++}`)).statusCode);
      }
      return statuses;
    };
    expect(new Set(await walk(30))).toEqual(new Set([200]));

    const refused = await walker.lookUp('UIN', `NIN-${next}`);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('900');
    expect(refused.json().errors[0].code).toBe('err.request.too_many_requests');
    // Other routes too: the client is throttled, not one route.
    expect((await walker.get('/api/v1/programs')).statusCode).toBe(429);

    const [throttle] = await alertsOf(t, `?client_id=${walker.id}`);
    expect(throttle).toMatchObject({ rule: 'sequential_walk', action: 'throttle', severity: 'critical' });
    expect(throttle!.evidence).toMatchObject({ numbered_lookups: 30, lookups: 30, misses: 30 });

    // The throttle ends; the client walks on and is suspended: every credential stops.
    clock.advance(15 * MINUTE + 1000);
    expect(new Set(await walk(30))).toEqual(new Set([200]));
    const suspended = await walker.lookUp('UIN', `NIN-${next}`);
    expect(suspended.statusCode).toBe(401);
    expect((await walker.get('/api/v1/programs')).statusCode).toBe(401);

    const alerts = await alertsOf(t, `?client_id=${walker.id}`);
    expect(alerts.map((a) => [a.rule, a.action])).toEqual([
      ['sequential_walk', 'suspend'],
      ['sequential_walk', 'throttle'],
    ]);
    const clients = (await asAdmin(t, 'GET', '/api/v1/clients')).json<{
      items: { id: string; disabled_at: string | null }[];
    }>();
    expect(clients.items.find((c) => c.id === walker.id)?.disabled_at).toBe('2025-03-04T10:16:01.000Z');
  });

  it('keeps counts only: no identifier or record id in alerts', async () => {
    const body = (await asAdmin(t, 'GET', '/api/v1/anomaly/alerts')).body;
    expect(body).not.toContain('NIN-');
    expect(body).not.toMatch(/1000\d{3}/);
  });

  it('throttles a client guessing record ids over REST (many distinct ids, mostly not found)', async () => {
    const guesser = await scriptedClient(t);
    const statuses: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      clock.advance(2000);
      // One real person among random guesses.
      const id = i === 3 ? persons['amina']! : randomUUID();
      statuses.push((await guesser.get(`/api/v1/individuals/${id}`)).statusCode);
    }
    expect(statuses.filter((s) => s === 404)).toHaveLength(99);

    const refused = await guesser.get(`/api/v1/individuals/${randomUUID()}`);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ status: 429, type: 'https://spx.dev/problems/too-many-requests' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    const [alert] = await alertsOf(t, `?client_id=${guesser.id}`);
    expect(alert).toMatchObject({ rule: 'record_enumeration', action: 'throttle' });
    expect(alert!.evidence).toMatchObject({ distinct_keys: 100, misses: 99, lookups: 100 });
  });
});
