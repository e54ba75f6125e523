import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { seedRegistry } from '#test/dci/fixtures';
import { asAdmin } from '#test/clients';
import { alertsOf, scriptedClient, TestClock, type ScriptedClient } from './support.ts';

describe('anomaly guard: normal traffic', () => {
  const clock = new TestClock(Date.parse('2025-03-04T08:00:00Z'));
  let t: TestApp;
  let persons: string[];
  const uins = ['UIN-A1', 'UIN-B1', 'UIN-B2', 'UIN-C1', 'UIN-D1', 'UIN-E1', 'UIN-F1'];

  beforeAll(async () => {
    // Default thresholds, but a low volume floor: steady traffic must not look like a spike either.
    t = await createTestApp({ anomalyVolumeFloor: 50 }, [], { now: clock.now });
    persons = Object.values((await seedRegistry(t.database.db)).persons);
  });
  afterAll(() => t.close());

  /** A program MIS at work: repeated and varied lookups, lists, the odd unknown id or bad request. */
  async function workingDay(client: ScriptedClient, requests: number, everyMs: number) {
    const statuses: number[] = [];
    for (let i = 0; i < requests; i += 1) {
      clock.advance(everyMs);
      const pick = <T>(list: T[]) => list[(i * 7 + Math.floor(i / 3)) % list.length]!;
      const call = i % 10;
      let res;
      if (call < 4) {
        res = await client.get(`/api/v1/individuals/${pick(persons)}`);
      } else if (call < 7) {
        // One lookup in ten is an identifier the registry does not hold (typos, people not registered).
        res = await client.lookUp('UIN', i % 20 === 5 ? `UIN-${randomBytes(3).toString('hex')}` : pick(uins));
      } else if (call < 8) {
        res = await client.get('/api/v1/households?limit=5');
      } else if (call < 9) {
        res = await client.get(`/api/v1/individuals?identifier_type=UIN&identifier_value=${pick(uins)}`);
      } else {
        res = await client.get(i % 30 === 9 ? '/api/v1/households?limit=0' : '/api/v1/programs');
      }
      statuses.push(res.statusCode);
    }
    return statuses;
  }

  it('trips nothing for two clients working steadily for hours', async () => {
    const mis = await scriptedClient(t);
    const payments = await scriptedClient(t);
    // Four hours: each client works half an hour at one request every 30 s, in turn.
    for (let hour = 0; hour < 4; hour += 1) {
      const statuses = [...(await workingDay(mis, 60, 30_000)), ...(await workingDay(payments, 60, 30_000))];
      expect(statuses.filter((s) => s === 429 || s === 401)).toEqual([]);
    }
    expect(await alertsOf(t)).toEqual([]);

    const seen = await asAdmin(t, 'GET', `/api/v1/anomaly/clients/${mis.id}`);
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).toMatchObject({
      throttled_for_seconds: 0,
      baseline: { active_hours: 4, usual_requests_per_hour: 60 },
      current_hour: { start: '2025-03-04T12:00:00.000Z', requests: 0 },
    });
  });
});
