import { expect } from 'vitest';
import type { TestApp } from '#test/app';
import { asAdmin } from '#test/clients';

/** Sets a client's policy through the admin API, expecting it to be accepted. */
export async function setPolicy(t: TestApp, clientId: string, policy: Record<string, unknown>) {
  const res = await asAdmin(t, 'PUT', `/api/v1/clients/${clientId}/policy`, {
    agreement_ref: 'DSA-TEST-1',
    ...policy,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>>();
}
