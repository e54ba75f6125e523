import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Role } from '#platform/auth/roles';
import type { TestApp } from './app.ts';

/** A client registered through the admin API, as an operator registers one. */
export interface RegisteredClient {
  id: string;
  name: string;
}

/** A registered client with an API key of its own. */
export interface TestClient extends RegisteredClient {
  key: string;
}

/** As the test's admin (or with `key`): any method on any path, a JSON body. */
export const asAdmin = (
  t: TestApp,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  key = t.adminKey,
): Promise<LightMyRequestResponse> =>
  t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });

/** A new client of `role` (a random name), through POST /api/v1/clients. */
export async function registerClient(t: TestApp, role: Role = 'integrator'): Promise<RegisteredClient> {
  const name = `${role}-${randomBytes(4).toString('hex')}`;
  const created = await asAdmin(t, 'POST', '/api/v1/clients', { name, role });
  expect(created.statusCode, created.body).toBe(201);
  return { id: created.json<{ id: string }>().id, name };
}

/** A new client of `role` and a key for it, through the admin API. */
export async function newClient(t: TestApp, role: Role = 'integrator'): Promise<TestClient> {
  const client = await registerClient(t, role);
  const issued = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/keys`, {});
  expect(issued.statusCode, issued.body).toBe(201);
  return { ...client, key: issued.json<{ key: string }>().key };
}

/** POST a DCI message as a client, with extra headers (X-Purpose). */
export const dciPost = (
  t: TestApp,
  path: string,
  body: unknown,
  key: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> =>
  t.app.inject({
    method: 'POST',
    url: path,
    headers: { authorization: `Bearer ${key}`, ...headers },
    payload: body as object,
  });
