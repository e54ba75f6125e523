import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { asAdmin } from '#test/clients';
import { alertsOf, scriptedClient, TestClock } from './support.ts';

/** A well-formed API key that was never issued (random prefix and secret). */
const guessedKey = () =>
  `spx_${randomBytes(12).toString('hex').slice(0, 12)}_${randomBytes(32).toString('base64url')}`;

describe('anomaly guard: failed authentications', () => {
  const clock = new TestClock(Date.parse('2025-03-04T10:00:00Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({}, [], { now: clock.now });
  });
  afterAll(() => t.close());

  const call = (key: string, from: string, url = '/api/v1/programs') =>
    t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` }, remoteAddress: from });

  it('throttles an address that keeps presenting bad keys, even when it finally presents a good one', async () => {
    const attacker = '203.0.113.7';
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      clock.advance(2000);
      statuses.push((await call(i % 3 === 0 ? 'not-a-key' : guessedKey(), attacker)).statusCode);
    }
    expect(new Set(statuses)).toEqual(new Set([401]));

    // Refused before any credential is looked at: a key that works elsewhere gets the same answer.
    const client = await scriptedClient(t);
    const refused = await call(client.key, attacker);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('900');
    expect(refused.json().detail).toContain('failed authentications');
    expect((await call(client.key, '198.51.100.20')).statusCode).toBe(200);
    // DCI routes answer in their own error shape.
    const dci = await t.app.inject({
      method: 'POST',
      url: '/dci/sr/registry/sync/search',
      headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/json' },
      payload: '{}',
      remoteAddress: attacker,
    });
    expect(dci.statusCode).toBe(429);
    expect(dci.json()).toEqual({
      errors: [{ code: 'err.request.too_many_requests', message: expect.any(String) }],
    });

    const [alert] = await alertsOf(t, '?rule=auth_failures');
    expect(alert).toMatchObject({
      client_id: null,
      source: `ip:${attacker}`,
      action: 'throttle',
      severity: 'critical',
      evidence: { failures: 30, window_minutes: 10 },
    });

    // An administrator lifts it: the address is served again at once.
    const lifted = await asAdmin(t, 'POST', `/api/v1/anomaly/alerts/${alert!.id}/lift`);
    expect(lifted.statusCode).toBe(200);
    expect((await call(client.key, attacker)).statusCode).toBe(200);
  });

  it('does not count failures spread thinly over time', async () => {
    const slow = '203.0.113.50';
    for (let i = 0; i < 45; i += 1) {
      clock.advance(30_000); // one every 30 s: 20 per 10-minute window
      expect((await call(guessedKey(), slow)).statusCode).toBe(401);
    }
    expect(await alertsOf(t, '?rule=auth_failures')).toHaveLength(1);
  });

  it('alerts, without throttling, when one key is tried with wrong secrets from many addresses', async () => {
    const owner = await scriptedClient(t);
    const prefix = owner.key.split('_')[1]!;
    for (let i = 0; i < 30; i += 1) {
      clock.advance(1000);
      const res = await call(`spx_${prefix}_${randomBytes(32).toString('base64url')}`, `198.18.0.${i + 1}`);
      expect(res.statusCode).toBe(401);
    }
    const [alert] = await alertsOf(t, '?rule=key_failures');
    expect(alert).toMatchObject({ source: `key:${prefix}`, action: 'alert', throttled_until: null });
    // Throttling a key prefix would let anyone who saw it lock its owner out: the owner is still served.
    expect((await call(owner.key, '198.18.0.1')).statusCode).toBe(200);
  });
});

describe('anomaly guard: client secrets refused by the token endpoint', () => {
  const clock = new TestClock(Date.parse('2025-03-04T10:00:00Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({}, [], { now: clock.now });
  });
  afterAll(() => t.close());

  it('counts client secrets refused by the token endpoint, and throttles the address there too', async () => {
    const guesser = '203.0.113.99';
    const tokenRequest = (from: string) =>
      t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: '00000000-0000-4000-8000-000000000000',
          client_secret: randomBytes(16).toString('hex'),
        }).toString(),
        remoteAddress: from,
      });
    for (let i = 0; i < 30; i += 1) {
      clock.advance(2000);
      const res = await tokenRequest(guesser);
      expect(res.json()).toMatchObject({ error: 'invalid_client' });
    }
    const refused = await tokenRequest(guesser);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('900');
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/api/v1/programs',
          headers: { authorization: `Bearer ${guessedKey()}` },
          remoteAddress: guesser,
        })
      ).statusCode,
    ).toBe(429);
    expect((await tokenRequest('198.51.100.21')).json()).toMatchObject({ error: 'invalid_client' });
    expect(await alertsOf(t, '?rule=auth_failures')).toContainEqual(
      expect.objectContaining({ source: `ip:${guesser}`, action: 'throttle' }),
    );
  });
});
