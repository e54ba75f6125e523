import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Role } from '#platform/auth/roles';
import type { TestApp } from '#test/app';

/** A client registered through the admin API, with a key of its own. */
export interface TestClient {
  id: string;
  key: string;
}

let clients = 0;

export async function newClient(t: TestApp, role: Role): Promise<TestClient> {
  clients += 1;
  const name = `${role}-${clients}-${Math.random().toString(36).slice(2, 8)}`;
  const created = await asAdmin(t, 'POST', '/api/v1/clients', { name, role });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json<{ id: string }>().id;
  const key = await asAdmin(t, 'POST', `/api/v1/clients/${id}/keys`, {});
  expect(key.statusCode, key.body).toBe(201);
  return { id, key: key.json<{ key: string }>().key };
}

export const asAdmin = (
  t: TestApp,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> =>
  t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${t.adminKey}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

/** Sets a client's policy through the admin API, expecting it to be accepted. */
export async function setPolicy(t: TestApp, clientId: string, policy: Record<string, unknown>) {
  const res = await asAdmin(t, 'PUT', `/api/v1/clients/${clientId}/policy`, {
    agreement_ref: 'DSA-TEST-1',
    ...policy,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>>();
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
