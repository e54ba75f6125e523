import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#app';
import type { App } from '#platform/http/types';
import { createTestApp, type TestApp } from '#test/app';
import { alertsOf, HOUR, MINUTE, scriptedClient, TestClock, type ScriptedClient } from './support.ts';

/** `perHour` requests spread over each of `hours` hours from `start` (the client's usual work). */
async function usualHours(
  clock: TestClock,
  client: ScriptedClient,
  start: number,
  hours: number,
  perHour: number,
) {
  for (let hour = 0; hour < hours; hour += 1) {
    for (let i = 0; i < perHour; i += 1) {
      clock.ms = start + hour * HOUR + i * Math.floor(HOUR / perHour) + 1000;
      expect((await client.get('/api/v1/programs')).statusCode).toBe(200);
    }
  }
}

/** `count` requests one second apart; the statuses in order. */
async function burst(clock: TestClock, client: ScriptedClient, count: number, url = '/api/v1/programs') {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) {
    clock.advance(1000);
    statuses.push((await client.get(url)).statusCode);
  }
  return statuses;
}

describe('anomaly guard: baselines', () => {
  const clock = new TestClock(Date.parse('2025-03-03T09:00:00Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ anomalyVolumeFloor: 100 }, [], { now: clock.now });
  });
  afterAll(() => t.close());

  it('throttles a client sending ten times its usual hourly volume, once it has a baseline', async () => {
    const client = await scriptedClient(t);
    const start = Date.parse('2025-03-03T09:00:00Z');
    await usualHours(clock, client, start, 4, 20);
    clock.ms = start + 4 * HOUR;
    const learned = await t.get(`/api/v1/anomaly/clients/${client.id}`, t.adminKey);
    expect(learned.json()).toMatchObject({ baseline: { active_hours: 4, usual_requests_per_hour: 20 } });

    // Ten times the usual volume passes; more than that within the hour is throttled.
    expect(new Set(await burst(clock, client, 201))).toEqual(new Set([200]));
    expect(await burst(clock, client, 1)).toEqual([429]);
    const [alert] = await alertsOf(t, `?client_id=${client.id}`);
    expect(alert).toMatchObject({ rule: 'volume_spike', action: 'throttle', severity: 'warning' });
    expect(alert!.evidence).toMatchObject({ requests_this_hour: 201, usual_per_hour: 20, baseline_hours: 4 });
  });

  it('does not judge the volume of a new client (no baseline yet)', async () => {
    const client = await scriptedClient(t);
    expect(new Set(await burst(clock, client, 300))).toEqual(new Set([200]));
    expect(await alertsOf(t, `?client_id=${client.id}`)).toEqual([]);
  });

  it('alerts on traffic at an hour of the day a client never used, without refusing it', async () => {
    const client = await scriptedClient(t);
    // Three working days, 09:00 to 17:00 UTC.
    for (const day of ['2025-03-10', '2025-03-11', '2025-03-12']) {
      await usualHours(clock, client, Date.parse(`${day}T09:00:00Z`), 8, 2);
    }
    clock.ms = Date.parse('2025-03-13T22:10:00Z');
    expect((await client.get('/api/v1/programs')).statusCode).toBe(200);
    clock.advance(20 * MINUTE);
    expect((await client.get('/api/v1/programs')).statusCode).toBe(200);
    const alerts = await alertsOf(t, `?client_id=${client.id}`);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule: 'off_hours',
      action: 'alert',
      severity: 'info',
      throttled_until: null,
    });
    expect(alerts[0]!.evidence).toMatchObject({ hour_of_day_utc: 22, baseline_hours: 24, baseline_days: 3 });
  });

  it('throttles a client whose requests suddenly fail more often than not', async () => {
    const client = await scriptedClient(t);
    await usualHours(clock, client, Date.parse('2025-03-20T07:00:00Z'), 3, 10);
    clock.ms = Date.parse('2025-03-20T10:00:00Z');
    const statuses: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      clock.advance(5000);
      // Three in five are refused (limit=0 is out of range).
      const url = i % 5 < 3 ? '/api/v1/households?limit=0' : '/api/v1/programs';
      statuses.push((await client.get(url)).statusCode);
    }
    expect(statuses.filter((s) => s === 400)).toHaveLength(30);
    expect(await burst(clock, client, 1)).toEqual([429]);
    const [alert] = await alertsOf(t, `?client_id=${client.id}`);
    expect(alert).toMatchObject({ rule: 'error_rate', action: 'throttle' });
    expect(alert!.evidence).toMatchObject({
      requests: 50,
      errors: 30,
      error_share: 0.6,
      usual_error_share: 0,
    });
  });

  it('does not judge the error rate of a client without history', async () => {
    const client = await scriptedClient(t);
    expect(new Set(await burst(clock, client, 60, '/api/v1/households?limit=0'))).toEqual(new Set([400]));
    expect(await alertsOf(t, `?client_id=${client.id}`)).toEqual([]);
  });
});

describe('anomaly guard: a restart keeps baselines, counts and throttles', () => {
  const clock = new TestClock(Date.parse('2025-04-01T09:00:00Z'));
  let first: TestApp;
  const restart = async () => {
    const app = await buildApp({
      config: first.config,
      database: first.database,
      logger: false,
      now: clock.now,
    });
    await app.ready();
    return app;
  };
  const apps: App[] = [];

  beforeAll(async () => {
    first = await createTestApp({ anomalyVolumeFloor: 50 }, [], { now: clock.now });
  });
  afterAll(async () => {
    for (const app of apps) {
      await app.close();
    }
    await first.drop();
  });

  it('judges a spike across a restart against the baseline learned before it', async () => {
    const client = await scriptedClient(first);
    const start = Date.parse('2025-04-01T09:00:00Z');
    await usualHours(clock, client, start, 3, 20);
    clock.ms = start + 3 * HOUR;
    expect(await burst(clock, client, 5)).toEqual([200, 200, 200, 200, 200]);
    await first.app.close();

    const on = (app: App) => (url: string) =>
      app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${client.key}` } });
    const second = await restart();
    try {
      const seen = await second.inject({
        method: 'GET',
        url: `/api/v1/anomaly/clients/${client.id}`,
        headers: { authorization: `Bearer ${first.adminKey}` },
      });
      expect(seen.json()).toMatchObject({
        baseline: { active_hours: 3, usual_requests_per_hour: 20 },
        current_hour: { requests: 5 },
      });
      // 5 before the restart + 196 after = 201 this hour: more than ten times 20.
      const statuses: number[] = [];
      for (let i = 0; i < 197; i += 1) {
        clock.advance(1000);
        statuses.push((await on(second)('/api/v1/programs')).statusCode);
      }
      expect(statuses.slice(0, 196).every((s) => s === 200)).toBe(true);
      expect(statuses[196]).toBe(429);
    } finally {
      await second.close();
    }

    // The throttle is read back by the next start.
    const third = await restart();
    apps.push(third);
    expect((await on(third)('/api/v1/programs')).statusCode).toBe(429);
  });
});
