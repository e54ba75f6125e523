import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#app';
import { createClient, createKey } from '#platform/auth/clients';
import { createTestApp, type TestApp } from '#test/app';
import { predicate, searchMessage } from '#test/dci/harness';
import { dciPost, newClient, type TestClient } from '#test/clients';
import { setPolicy } from './helpers.ts';

/** A clock the test moves by hand: limits are checked without sleeping. */
function testClock(start: string) {
  let now = Date.parse(start);
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const SECOND = 1000;
const problemOf = (res: { json: () => unknown }) =>
  res.json() as { type: string; status: number; detail: string };

describe('rate limit and daily quota', () => {
  const clock = testClock('2025-03-10T22:00:00Z');
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({}, [], { now: clock.now });
  });
  afterAll(() => t.close());

  const programs = (client: TestClient) => t.get('/api/v1/programs', client.key);

  it('answers 429 with Retry-After past the per-minute limit, and lets the client in again once it refills', async () => {
    const client = await newClient(t, 'integrator');
    await setPolicy(t, client.id, { rate_limit: 2 });
    const first = await programs(client);
    expect(first.statusCode).toBe(200);
    expect(first.headers).toMatchObject({ 'ratelimit-limit': '2', 'ratelimit-remaining': '1' });
    expect((await programs(client)).statusCode).toBe(200);

    const refused = await programs(client);
    expect(refused.statusCode).toBe(429);
    // One request's worth of a 2-per-minute bucket refills in 30 seconds.
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.headers).toMatchObject({ 'ratelimit-remaining': '0', 'ratelimit-reset': '60' });
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(problemOf(refused)).toMatchObject({
      type: 'https://spx.dev/problems/too-many-requests',
      status: 429,
      detail: 'the rate limit of 2 requests per minute is reached',
    });

    clock.advance(29 * SECOND);
    expect((await programs(client)).statusCode).toBe(429);
    clock.advance(1 * SECOND);
    expect((await programs(client)).statusCode).toBe(200);
    expect((await programs(client)).statusCode).toBe(429);
  });

  it('limits each client on its own', async () => {
    const busy = await newClient(t, 'integrator');
    const other = await newClient(t, 'integrator');
    await setPolicy(t, busy.id, { rate_limit: 1 });
    await setPolicy(t, other.id, { rate_limit: 1 });
    expect((await programs(busy)).statusCode).toBe(200);
    expect((await programs(busy)).statusCode).toBe(429);
    expect((await programs(other)).statusCode).toBe(200);
  });

  it('answers 429 on DCI routes in the DCI error shape, with Retry-After', async () => {
    const client = await newClient(t, 'integrator');
    await setPolicy(t, client.id, { rate_limit: 1 });
    const search = () =>
      dciPost(
        t,
        '/dci/sr/registry/sync/search',
        searchMessage(predicate('Group', ['location', 'eq', 'R01'])),
        client.key,
      );
    expect((await search()).statusCode).toBe(200);
    const refused = await search();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.json()).toEqual({
      errors: [
        {
          code: 'err.request.too_many_requests',
          message: 'the rate limit of 1 requests per minute is reached',
        },
      ],
    });
  });

  it('answers 429 until the next UTC day once the daily quota is used up', async () => {
    const client = await newClient(t, 'integrator');
    await setPolicy(t, client.id, { daily_quota: 3 });
    for (let i = 0; i < 3; i += 1) {
      expect((await programs(client)).statusCode).toBe(200);
    }
    const refused = await programs(client);
    expect(refused.statusCode).toBe(429);
    expect(problemOf(refused).detail).toContain('daily quota of 3 requests');
    const now = clock.now();
    const midnight = Date.parse(new Date(now + 86_400_000).toISOString().slice(0, 10));
    expect(refused.headers['retry-after']).toBe(String(Math.ceil((midnight - now) / SECOND)));

    clock.advance(midnight - now);
    expect((await programs(client)).statusCode).toBe(200);
  });
});

describe('daily quota across a restart', () => {
  const clock = testClock('2025-03-11T08:00:00Z');

  it('keeps counting after the gateway restarts on the same database', async () => {
    const t = await createTestApp({}, [], { now: clock.now });
    const client = await newClient(t, 'integrator');
    await setPolicy(t, client.id, { daily_quota: 3 });
    expect((await t.get('/api/v1/programs', client.key)).statusCode).toBe(200);
    expect((await t.get('/api/v1/programs', client.key)).statusCode).toBe(200);
    // Closing writes the counts (they are otherwise written every SPX_USAGE_FLUSH_SECONDS).
    await t.app.close();
    const usage = await t.database.db
      .selectFrom('client_usage')
      .select(['day', 'requests'])
      .where('client_id', '=', client.id)
      .execute();
    expect(usage).toEqual([{ day: '2025-03-11', requests: 2 }]);

    const restarted = await buildApp({
      config: t.config,
      database: t.database,
      logger: false,
      now: clock.now,
    });
    try {
      await restarted.ready();
      const get = () =>
        restarted.inject({ url: '/api/v1/programs', headers: { authorization: `Bearer ${client.key}` } });
      expect((await get()).statusCode).toBe(200);
      expect((await get()).statusCode).toBe(429);
    } finally {
      await restarted.close();
      await t.drop();
    }
  });
});

describe('default limits from the settings', () => {
  it('apply to clients whose policy sets none; a policy overrides them', async () => {
    const t = await createTestApp({ defaultRateLimit: 1 }, [], {
      now: testClock('2025-03-12T08:00:00Z').now,
    });
    try {
      const plain = await t.keyFor('integrator');
      expect((await t.get('/api/v1/programs', plain)).statusCode).toBe(200);
      expect((await t.get('/api/v1/programs', plain)).statusCode).toBe(429);

      // The admin is bound by the default too: one request (the policy) this minute.
      const generous = await createClient(t.database.db, { name: 'generous-mis', role: 'integrator' });
      const { key } = await createKey(t.database.db, generous, { expiresInDays: 1 });
      await setPolicy(t, generous.id, { rate_limit: 100 });
      for (let i = 0; i < 3; i += 1) {
        expect((await t.get('/api/v1/programs', key)).statusCode).toBe(200);
      }
    } finally {
      await t.close();
    }
  });
});
