import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual } from '#test/factories';
import { newClient, type TestClient } from '#test/clients';

/** A data subject's access report: who accessed the person's data, when, why; JSON and CSV. */

let t: TestApp;
let person: string;
let mis: TestClient;

beforeAll(async () => {
  t = await createTestApp();
  person = await insertIndividual(t.database.db, await insertHousehold(t.database.db));
  mis = await newClient(t, 'integrator');
  for (const purpose of ['case review', 'eligibility check']) {
    const res = await t.get(`/api/v1/individuals/${person}`, mis.key, { 'x-purpose': purpose });
    expect(res.statusCode).toBe(200);
  }
});
afterAll(() => t.close());

describe('subject access report', () => {
  it('sums up the accesses by system, with purposes, and lists them', async () => {
    const res = await t.get(`/api/v1/audit/subjects/${person}`, t.adminKey);
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json<{
      accesses: number;
      by_client: { client_id: string; accesses: number; purposes: string[] }[];
      entries: { purpose: string; action: string }[];
    }>();
    expect(report.by_client).toEqual([
      expect.objectContaining({
        client_id: mis.id,
        accesses: 2,
        purposes: ['case review', 'eligibility check'],
      }),
    ]);
    expect(report.entries.map((e) => e.purpose)).toEqual(['eligibility check', 'case review']);
    // Consulting the report is audited, but is not itself an access to the subject's data.
    const again = await t.get(`/api/v1/audit/subjects/${person}`, t.adminKey);
    expect(again.json<{ accesses: number }>().accesses).toBe(2);
  });

  it('answers a CSV file to hand over, and refuses callers without audit:read', async () => {
    const csv = await t.get(`/api/v1/audit/subjects/${person}?format=csv`, t.adminKey);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="access-report-${person}.csv"`);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('at,client_name,action,purpose,legal_basis,outcome');
    expect(lines).toHaveLength(3);
    expect((await t.get(`/api/v1/audit/subjects/${person}`, mis.key)).statusCode).toBe(403);
    expect((await t.get(`/api/v1/audit/subjects/${person}?format=pdf`, t.adminKey)).statusCode).toBe(400);
    expect((await t.get('/api/v1/audit/subjects/no-such-person', t.adminKey)).statusCode).toBe(400);
    const nobody = await t.get('/api/v1/audit/subjects/00000000-0000-4000-8000-000000000000', t.adminKey);
    expect(nobody.json()).toMatchObject({ accesses: 0, by_client: [], entries: [] });
  });

  it('pages through the entries with a cursor, and sums up all of them on every page', async () => {
    const first = await t.get(`/api/v1/audit/subjects/${person}?limit=1`, t.adminKey);
    expect(first.statusCode, first.body).toBe(200);
    const one = first.json<{
      accesses: number;
      entries: { purpose: string }[];
      next_cursor: string | null;
    }>();
    expect(one).toMatchObject({ accesses: 2, entries: [{ purpose: 'eligibility check' }] });
    expect(one.next_cursor).toEqual(expect.any(String));
    const next = await t.get(
      `/api/v1/audit/subjects/${person}?limit=1&cursor=${one.next_cursor}`,
      t.adminKey,
    );
    expect(next.json()).toMatchObject({
      accesses: 2,
      entries: [{ purpose: 'case review' }],
      next_cursor: null,
    });
    // A cursor of the audit search is not one of this report.
    const search = (await t.get('/api/v1/audit?limit=1', t.adminKey)).json<{ next_cursor: string }>();
    const foreign = await t.get(`/api/v1/audit/subjects/${person}?cursor=${search.next_cursor}`, t.adminKey);
    expect(foreign.statusCode).toBe(400);
  });
});
