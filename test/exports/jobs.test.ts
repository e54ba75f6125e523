import { readdirSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportsDir, purgeExpiredFiles } from '#exports/files';
import { newClient } from '#test/clients';
import { createExportTestApp, type ExportTestApp } from './support.ts';

/** Asynchronous export jobs: progress, the file when ready, its expiry, and who may download it. */

interface ExportJob {
  id: string;
  kind: string;
  status: string;
  progress: { done: number; total?: number } | null;
  error: string | null;
  status_url: string;
  file: {
    rows: number | null;
    ready: boolean;
    download: string | null;
    expires_at: string;
    deleted: boolean;
  } | null;
}

let t: ExportTestApp;

async function finished(id: string, key = t.adminKey): Promise<ExportJob> {
  let state: ExportJob | undefined;
  await expect
    .poll(
      async () => {
        state = (await t.send('GET', `/api/v1/export-jobs/${id}`, undefined, key)).json<ExportJob>();
        return state.status;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toMatch(/^(succeeded|failed|cancelled)$/);
  return state!;
}

const start = (body: Record<string, unknown>, key = t.adminKey) =>
  t.send(
    'POST',
    '/api/v1/export-jobs',
    { purpose: 'monthly statistics', legal_basis: 'public_task', ...body },
    key,
  );

beforeAll(async () => {
  t = await createExportTestApp(80, { jobsEnabled: true });
  await t.define({
    name: 'members',
    entity: 'household_members',
    fields: ['id', 'household_id', 'sex', 'birth_year', 'household_admin_area_code'],
    format: 'csv',
  });
});
afterAll(() => t.close());

describe('export jobs', () => {
  it('answers the job itself, at its status URL, then writes the export with progress and serves it', async () => {
    const res = await start({ definition: 'members' });
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json<ExportJob>();
    expect(job).toMatchObject({
      kind: 'export.file',
      status_url: `/api/v1/export-jobs/${job.id}`,
      file: null,
    });
    expect(['queued', 'running']).toContain(job.status);
    expect(res.headers['location']).toBe(job.status_url);
    // The job resource as GET /api/v1/jobs/{id} shows it, with its status URL and file.
    const generic = (await t.send('GET', `/api/v1/jobs/${job.id}`)).json<Record<string, unknown>>();
    expect(Object.keys(job).sort()).toEqual([...Object.keys(generic), 'status_url', 'file'].sort());
    const done = await finished(job.id);
    expect(done.status).toBe('succeeded');
    const members = await t.database.db
      .selectFrom('individuals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    const total = Number(members!.n);
    expect(done.progress).toMatchObject({ done: total, total, percent: 100 });
    expect(done.file).toMatchObject({
      rows: total,
      ready: true,
      deleted: false,
      download: `/api/v1/export-jobs/${job.id}/file`,
    });

    const file = await t.send('GET', done.file!.download!);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toMatch(/^text\/csv/);
    expect(Number(file.headers['content-length'])).toBe(file.rawPayload.length);
    const [header, ...rows] = parseCsv(file.body);
    expect(header).toEqual(['id', 'household_id', 'sex', 'birth_year', 'household_admin_area_code']);
    expect(rows).toHaveLength(total);

    const audit = await t.send('GET', '/api/v1/audit?action=export.file');
    expect(audit.json<{ items: Record<string, unknown>[] }>().items).toContainEqual(
      expect.objectContaining({
        record_count: total,
        purpose: 'monthly statistics',
        legal_basis: 'public_task',
      }),
    );
  });

  it('writes another format when asked, and refuses what the definition cannot do', async () => {
    const res = await start({ definition: 'members', format: 'parquet' });
    const done = await finished(res.json<ExportJob>().id);
    const file = await t.send('GET', done.file!.download!);
    expect(file.rawPayload.subarray(0, 4).toString()).toBe('PAR1');

    expect((await start({ definition: 'nothing' })).statusCode).toBe(404);
    expect((await start({ definition: 'members', version: 9 })).statusCode).toBe(404);
    expect((await start({ definition: 'members', legal_basis: 'whim' })).statusCode).toBe(400);
    expect((await start({ definition: 'members', purpose: '' })).statusCode).toBe(400);
  });

  it('serves a file only to the client that asked (and administrators)', async () => {
    const owner = await newClient(t, 'integrator');
    const other = await newClient(t, 'integrator');
    const job = (await start({ definition: 'members' }, owner.key)).json<ExportJob>();
    const done = await finished(job.id, owner.key);
    expect((await t.send('GET', done.file!.download!, undefined, owner.key)).statusCode).toBe(200);
    expect((await t.send('GET', done.file!.download!, undefined, other.key)).statusCode).toBe(404);
    expect((await t.send('GET', `/api/v1/export-jobs/${job.id}`, undefined, other.key)).statusCode).toBe(404);
    expect((await t.send('GET', done.file!.download!)).statusCode).toBe(200);
  });

  it('deletes files once they expire, and says so', async () => {
    const job = (await start({ definition: 'members' })).json<ExportJob>();
    const done = await finished(job.id);
    expect(readdirSync(exportsDir(t.dataDir))).toContain(`${job.id}.csv`);
    const purged = await purgeExpiredFiles(
      t.database.db,
      t.dataDir,
      new Date(Date.parse(done.file!.expires_at) + 1),
    );
    expect(purged).toBeGreaterThanOrEqual(1);
    expect(readdirSync(exportsDir(t.dataDir))).not.toContain(`${job.id}.csv`);
    const gone = await t.send('GET', `/api/v1/export-jobs/${job.id}/file`);
    expect(gone.statusCode).toBe(410);
    expect(gone.json<{ detail: string }>().detail).toMatch(/expired/);
    const state = (await t.send('GET', `/api/v1/export-jobs/${job.id}`)).json<ExportJob>();
    expect(state.file).toMatchObject({ ready: false, deleted: true, download: null });
  });

  it('answers 404 for an unknown job or a job of another kind', async () => {
    expect((await t.send('GET', '/api/v1/export-jobs/00000000-0000-4000-8000-000000000000')).statusCode).toBe(
      404,
    );
    expect(
      (await t.send('GET', '/api/v1/export-jobs/00000000-0000-4000-8000-000000000000/file')).statusCode,
    ).toBe(404);
  });
});
