import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { defineJobKind } from './queue.ts';

const countTo = defineJobKind({
  name: 'test.count-to',
  payload: Type.Object({ n: Type.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }),
  async run(payload, context) {
    for (let i = 1; i <= payload.n; i += 1) {
      await context.progress(i, payload.n);
    }
    return { status: 'done', result: { counted: payload.n } };
  },
});

describe('job status resource', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ jobsEnabled: true }, [countTo]);
  });
  afterAll(() => t.close());

  async function waitForEnd(id: string, key: string) {
    for (let i = 0; i < 100; i += 1) {
      const job = (await t.get(`/api/v1/jobs/${id}`, key)).json();
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) {
        return job;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('job did not finish');
  }

  it('shows a job run to the end with its progress and result', async () => {
    const id = await t.app.jobs.enqueue(countTo, { n: 5 });
    const job = await waitForEnd(id, t.adminKey);
    expect(job).toMatchObject({
      id,
      kind: 'test.count-to',
      status: 'succeeded',
      progress: { done: 5, total: 5, percent: 100 },
      result: { counted: 5 },
      attempts: 1,
    });
    const list = await t.get('/api/v1/jobs?kind=test.count-to', t.adminKey);
    expect(list.json().items.map((j: { id: string }) => j.id)).toContain(id);
  });

  it("hides another client's job (404) and needs jobs:read (403)", async () => {
    const integrator = await t.keyFor('integrator');
    const id = await t.app.jobs.enqueue(countTo, { n: 1 });
    expect((await t.get(`/api/v1/jobs/${id}`, integrator)).statusCode).toBe(404);
    expect((await t.get(`/api/v1/jobs/${id}`, await t.keyFor('field_agent'))).statusCode).toBe(403);
  });

  it('answers 404 for an unknown job and 400 for a malformed id or filter', async () => {
    expect((await t.get('/api/v1/jobs/00000000-0000-4000-8000-000000000000', t.adminKey)).statusCode).toBe(
      404,
    );
    expect((await t.get('/api/v1/jobs/123', t.adminKey)).statusCode).toBe(400);
    expect((await t.get('/api/v1/jobs?status=done', t.adminKey)).statusCode).toBe(400);
  });
});
