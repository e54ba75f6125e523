import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Role } from '#platform/auth/roles';
import type { TestApp } from '#test/app';
import { asAdmin, newClient } from '#test/clients';
import { idType, searchMessage } from '#test/dci/harness';

/**
 * Scripted clients for the anomaly guard's stories: a clock the test moves (the guard's windows
 * and hours follow it, nothing sleeps), and clients registered through the admin API that call
 * the real REST and DCI routes.
 */

export class TestClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export interface ScriptedClient {
  id: string;
  key: string;
  get(url: string, from?: string): Promise<LightMyRequestResponse>;
  /** A DCI sync search of the Social Registry for one person by identifier (idtype-value). */
  lookUp(type: string, value: string): Promise<LightMyRequestResponse>;
}

/** A client with a key, registered through the admin API, that calls the routes as a client would. */
export async function scriptedClient(t: TestApp, role: Role = 'integrator'): Promise<ScriptedClient> {
  const { id, key } = await newClient(t, role);
  return {
    id,
    key,
    get: (url, from = '127.0.0.1') =>
      t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` }, remoteAddress: from }),
    lookUp: (type, value) =>
      t.app.inject({
        method: 'POST',
        url: '/dci/sr/registry/sync/search',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: JSON.stringify(searchMessage(idType('Person', type, value))),
      }),
  };
}

export interface AlertJson {
  id: string;
  client_id: string | null;
  source: string | null;
  rule: string;
  severity: string;
  action: string;
  evidence: Record<string, number>;
  throttled_until: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  lifted_at: string | null;
}

/** The alerts the API lists for these filters (newest first). */
export async function alertsOf(t: TestApp, query = ''): Promise<AlertJson[]> {
  const res = await asAdmin(t, 'GET', `/api/v1/anomaly/alerts${query}`);
  expect(res.statusCode).toBe(200);
  return res.json<{ items: AlertJson[] }>().items;
}
