import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { idType, searchMessage } from '#test/dci/harness';
import { LOOKUP_PROGRAM, lookupProgram, lookupRoutes, type LookupRoute } from '#test/lookup-routes';
import { asAdmin } from '#test/clients';
import { alertsOf, scriptedClient, TestClock, type ScriptedClient } from './support.ts';

/**
 * Every route that finds a person by a key counts its lookups for the anomaly guard, a batch each
 * subject: a sequential walk over any of them is throttled as one over REST is. The walk threshold
 * is lowered to 10 lookups so that each walk stays short.
 */
describe('anomaly guard: lookups on every route that takes a lookup key', () => {
  const clock = new TestClock(Date.parse('2025-03-04T10:00:00Z'));
  const WALK = 10;
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ anomalyWalkLookups: WALK }, [], { now: clock.now });
    await lookupProgram(t);
  });
  afterAll(() => t.close());

  /** A value of the route's key ending in the number n, as a walk of that key would try. */
  const valueOf = (route: LookupRoute, n: number) =>
    ({ identifier: `NIN-${n}`, phone: `+255${n}`, program_beneficiary_id: `BEN-${n}` })[route.key];

  /** An async DCI search: accepted (202) and answered later, counted when accepted. */
  const asyncSearch: LookupRoute = {
    name: 'DCI SR async search by identifier (idtype-value)',
    key: 'identifier',
    ask: (t, apiKey, value) => {
      const message = searchMessage(idType('Person', 'UIN', value));
      message.header['sender_uri'] = 'https://mis.example/dci';
      return t.app.inject({
        method: 'POST',
        url: '/dci/sr/registry/search',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: message,
      });
    },
  };

  /** A client that may send async searches: answers go to its origin, unsigned messages accepted. */
  async function asyncClient(): Promise<ScriptedClient> {
    const client = await scriptedClient(t);
    const set = (path: string, body: unknown) =>
      asAdmin(t, 'PUT', `/api/v1/clients/${client.id}${path}`, body);
    expect((await set('/dci', { callback_origins: ['https://mis.example'] })).statusCode).toBe(200);
    expect((await set('/dci/signature', { signature_policy: 'none' })).statusCode).toBe(200);
    return client;
  }

  const routes = [
    ...lookupRoutes.map((route) => [route.name, route, scriptedClient] as const),
    [asyncSearch.name, asyncSearch, asyncClient] as const,
  ];

  it.each(routes)('a sequential walk is throttled: %s', async (_name, route, newClient) => {
    const walker = await newClient(t);
    const statuses: number[] = [];
    for (let n = 1_000_100; n < 1_000_100 + WALK; n += 1) {
      clock.advance(1000);
      statuses.push((await route.ask(t, walker.key, valueOf(route, n))).statusCode);
    }
    expect(
      statuses.every((s) => s < 500 && s !== 429),
      String(statuses),
    ).toBe(true);
    clock.advance(1000);
    const refused: LightMyRequestResponse = await route.ask(t, walker.key, valueOf(route, 1_000_100 + WALK));
    expect(refused.statusCode).toBe(429);
    const [alert] = await alertsOf(t, `?client_id=${walker.id}`);
    expect(alert).toMatchObject({ rule: 'sequential_walk', action: 'throttle' });
  });

  it('an eligibility batch counts each subject: 500 unknown identifiers in one request are an enumeration', async () => {
    const walker = await scriptedClient(t);
    clock.advance(1000);
    const subjects = Array.from({ length: 500 }, (_, i) => ({
      identifier_type: 'UIN',
      identifier_value: `NIN-${2_000_000 + i}`,
    }));
    const batch = await asAdmin(
      t,
      'POST',
      '/api/v1/ibr/eligibility/check',
      { program: LOOKUP_PROGRAM, subjects },
      walker.key,
    );
    expect(batch.statusCode, batch.body).toBe(200);
    expect((await walker.get('/api/v1/programs')).statusCode).toBe(429);
    const [alert] = await alertsOf(t, `?client_id=${walker.id}`);
    expect(alert).toMatchObject({ rule: 'record_enumeration', action: 'throttle' });
    expect(alert!.evidence).toMatchObject({ lookups: 500, misses: 500, distinct_keys: 500 });
  });
});
