import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueDueExports } from '#exports/schedule';
import { newClient, type TestClient } from '#test/clients';
import { createExportTestApp, type ExportTestApp } from './support.ts';

/** Scheduled exports: each run due is exported once, for the client that saved the definition. */

let t: ExportTestApp;
let analyst: TestClient;
let savedAt: Date;

const hours = (n: number) => new Date(savedAt.getTime() + n * 3600_000);
const due = (at: Date) => enqueueDueExports(t.database.db, t.app.jobs, 24, at);

async function finished(jobId: string): Promise<void> {
  await expect
    .poll(async () => (await t.send('GET', `/api/v1/jobs/${jobId}`)).json<{ status: string }>().status, {
      timeout: 20_000,
    })
    .toBe('succeeded');
}

beforeAll(async () => {
  t = await createExportTestApp(20, { jobsEnabled: true });
  analyst = await newClient(t, 'analyst');
  const saved = await t.define(
    {
      name: 'weekly',
      entity: 'individuals',
      fields: ['id', 'given_name', 'sex', 'birth_year'],
      format: 'csv',
      schedule: '0 * * * *',
      schedule_purpose: 'weekly statistics',
      schedule_legal_basis: 'public_task',
    },
    analyst.key,
  );
  savedAt = new Date(saved['created_at'] as string);
});
afterAll(() => t.close());

describe('scheduled exports', () => {
  it('runs once per time due, for the client that saved it, under its policy', async () => {
    expect(await due(new Date(savedAt.getTime() + 1000))).toEqual([]);
    const [first, second] = await Promise.all([due(hours(1)), due(hours(1))]);
    const jobs = [...first, ...second];
    expect(jobs).toHaveLength(1);
    await finished(jobs[0]!);
    expect(await due(hours(1))).toEqual([]);

    const files = await t.send('GET', '/api/v1/export-definitions/weekly/files', undefined, analyst.key);
    const [file] = files.json<{ items: { job_id: string; download: string; rows: number }[] }>().items;
    expect(file).toMatchObject({ job_id: jobs[0], download: `/api/v1/export-jobs/${jobs[0]}/file` });
    const csv = await t.send('GET', file!.download, undefined, analyst.key);
    const [header, ...rows] = parseCsv(csv.body);
    // The analyst's policy: no names.
    expect(header).toEqual(['id', 'sex', 'birth_year']);
    expect(rows).toHaveLength(file!.rows);

    const audit = await t.send('GET', `/api/v1/audit?action=export.file&client_id=${analyst.id}`);
    expect(audit.json<{ items: Record<string, unknown>[] }>().items[0]).toMatchObject({
      purpose: 'weekly statistics',
      legal_basis: 'public_task',
      resource_id: 'weekly@1',
    });
    const other = await newClient(t, 'integrator');
    const theirs = await t.send('GET', '/api/v1/export-definitions/weekly/files', undefined, other.key);
    expect(theirs.json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('makes up runs missed while no gateway ran with one run, the latest', async () => {
    const jobs = await due(hours(5.5));
    expect(jobs).toHaveLength(1);
    await finished(jobs[0]!);
    // Until the next full hour, nothing more is due.
    const nextHour = Math.ceil(hours(5.5).getTime() / 3600_000) * 3600_000;
    expect(await due(new Date(nextHour - 1000))).toEqual([]);
    expect(await due(new Date(nextHour + 1000))).toHaveLength(1);
  });

  it('queues a run that a stopped gateway claimed but did not queue', async () => {
    const at = hours(30);
    const missed = new Date(Math.floor(at.getTime() / 3600_000) * 3600_000);
    const [current] = await t.database.db
      .selectFrom('export_definitions')
      .select('version')
      .where('name', '=', 'weekly')
      .orderBy('version', 'desc')
      .limit(1)
      .execute();
    await t.database.db
      .insertInto('export_schedule_runs')
      .values({
        name: 'weekly',
        due_at: missed,
        version: current!.version,
        created_at: new Date(Date.now() - 120_000),
      })
      .execute();
    const jobs = await due(at);
    expect(jobs).toHaveLength(1);
    const run = await t.database.db
      .selectFrom('export_schedule_runs')
      .selectAll()
      .where('due_at', '=', missed)
      .executeTakeFirst();
    expect(run!.job_id).toBe(jobs[0]);
    await finished(jobs[0]!);
    expect(await due(at)).toEqual([]);
  });

  it('stops when a version without a schedule is saved', async () => {
    const res = await t.send(
      'PUT',
      '/api/v1/export-definitions/weekly',
      { name: 'weekly', entity: 'individuals', fields: ['id'], format: 'csv' },
      analyst.key,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(await due(hours(48))).toEqual([]);
  });

  it('refuses a schedule that does not state the purpose and legal basis of its runs', async () => {
    const res = await t.send('POST', '/api/v1/export-definitions', {
      name: 'unstated',
      entity: 'individuals',
      fields: ['id'],
      format: 'csv',
      schedule: '0 2 * * 1',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ errors: { pointer: string }[] }>().errors.map((e) => e.pointer)).toEqual([
      '/schedule_purpose',
      '/schedule_legal_basis',
    ]);
  });
});
