import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual } from '#test/factories';

/**
 * Identity verification against a fake national ID system on 127.0.0.1 that speaks the generic
 * REST/JSON protocol: it answers by national ID (match, no match, HTTP 500, too slow).
 */

interface Verification {
  id: string;
  outcome: string;
  attempts: number;
  detail: string | null;
  method: string;
  adapter: string;
}

let t: TestApp;
let server: Server;
const received: Record<string, unknown>[] = [];
const people: Record<string, string> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as Record<string, unknown>;
      received.push(request);
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      switch (request['nin']) {
        case 'NIN-MATCH':
          return answer(200, { result: { match: 'Y' } });
        case 'NIN-NOMATCH':
          return answer(200, { result: { match: 'N' } });
        case 'NIN-SLOW':
          return setTimeout(() => answer(200, { result: { match: 'Y' } }), 1500);
        default:
          return answer(500, { error: 'down' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t = await createTestApp({
    idVerifyUrl: `http://127.0.0.1:${port}/verify`,
    idVerifyMapping: JSON.stringify({
      request: { nin: 'identifier:NIN', surname: 'family_name', dob: 'birth_date' },
      match: { path: 'result.match', equals: 'Y' },
    }),
    idVerifyTimeoutMs: 300,
    idVerifyBreakerSeconds: 1,
  });
  const household = await insertHousehold(t.database.db);
  for (const nin of ['NIN-MATCH', 'NIN-NOMATCH', 'NIN-SLOW', 'NIN-DOWN']) {
    people[nin] = await insertIndividual(t.database.db, household, { family_name: 'Okello' }, [
      { type: 'NIN', value: nin },
    ]);
  }
});
afterAll(async () => {
  await t.close();
  server.close();
});

const verify = (person: string, key = t.adminKey) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/ibr/identity/verifications',
    headers: { authorization: `Bearer ${key}` },
    payload: { person_id: person },
  });

describe('identity verification', () => {
  it('sends the mapped fields and records a match', async () => {
    const res = await verify(people['NIN-MATCH']!);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<Verification>()).toMatchObject({
      outcome: 'match',
      attempts: 1,
      method: 'demographic',
      adapter: 'rest-json',
    });
    expect(received.at(-1)).toEqual({ nin: 'NIN-MATCH', surname: 'Okello', dob: '1985-05-20' });
  });

  it('records a no match', async () => {
    const res = await verify(people['NIN-NOMATCH']!);
    expect(res.json<Verification>()).toMatchObject({ outcome: 'no_match', attempts: 1 });
  });

  it('retries a failing ID system, then answers 503 and records the error', async () => {
    const before = received.length;
    const res = await verify(people['NIN-DOWN']!);
    expect(res.statusCode).toBe(503);
    expect(res.json<{ detail: string }>().detail).toMatch(
      /identity not verified: the ID system answered HTTP 500/,
    );
    expect(received.length - before).toBe(3);
    const list = await t.get(
      `/api/v1/ibr/identity/verifications?person_id=${people['NIN-DOWN']}`,
      t.adminKey,
    );
    expect(list.json<{ items: Verification[] }>().items[0]).toMatchObject({ outcome: 'error', attempts: 3 });
  });

  it('gives up on a slow ID system at the time-out', async () => {
    const started = Date.now();
    const res = await verify(people['NIN-SLOW']!);
    expect(res.statusCode).toBe(503);
    expect(res.json<{ detail: string }>().detail).toMatch(/did not answer in time|circuit|failed repeatedly/);
    expect(Date.now() - started).toBeLessThan(1500 * 3);
  });

  it('opens the circuit after repeated failures: no call until it has rested, then one test call', async () => {
    // Five failures in a row by now (three, then two or more): the circuit is open.
    const before = received.length;
    const refused = await verify(people['NIN-MATCH']!);
    expect(refused.statusCode).toBe(503);
    expect(refused.json<{ detail: string }>().detail).toMatch(
      /failed repeatedly; it is not called for a while/,
    );
    expect(received.length).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const healed = await verify(people['NIN-MATCH']!);
    expect(healed.statusCode, healed.body).toBe(201);
    expect(received.length).toBe(before + 1);
  });

  it('refuses unknown people, bad input and callers without registry:write', async () => {
    expect((await verify('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await verify('nobody')).statusCode).toBe(400);
    const integrator = await t.keyFor('integrator');
    expect((await verify(people['NIN-MATCH']!, integrator)).statusCode).toBe(403);
    expect((await t.get('/api/v1/ibr/identity/verifications?person_id=x', t.adminKey)).statusCode).toBe(400);
  });
});

describe('without an ID system configured', () => {
  it('answers 503 saying so', async () => {
    const bare = await createTestApp();
    try {
      const household = await insertHousehold(bare.database.db);
      const person = await insertIndividual(bare.database.db, household);
      const res = await bare.app.inject({
        method: 'POST',
        url: '/api/v1/ibr/identity/verifications',
        headers: { authorization: `Bearer ${bare.adminKey}` },
        payload: { person_id: person },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json<{ detail: string }>().detail).toMatch(/no identity system is configured/);
    } finally {
      await bare.close();
    }
  });
});
