import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '#platform/db/database';
import { migrate } from '#platform/db/migrate';
import { ProblemError } from '#platform/problem';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '#test/db';
import {
  createJobQueue,
  defineJobKind,
  JobAbortedError,
  type JobQueue,
  type JobQueueOptions,
} from './queue.ts';
import { interruptedKind } from './testing/interrupted.ts';

const POLL = { interval: 50, timeout: 5_000 };
const CLIENT = '6f1c2a7e-0b1d-4c3e-9a55-2d7f0e8b9c41';
const OTHER_CLIENT = '0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70';

/** Job ids the echo handler ran, in order: a job that must not run again must not appear. */
const echoRuns: string[] = [];
const echo = defineJobKind({
  name: 'test.echo',
  payload: Type.Object({
    text: Type.String(),
    steps: Type.Integer({ minimum: 0 }),
    skip: Type.Optional(Type.Boolean()),
  }),
  async run(payload, { jobId, progress }) {
    echoRuns.push(jobId);
    if (payload.skip) {
      return { status: 'skipped', reason: 'nothing to echo' };
    }
    for (let step = 1; step <= payload.steps; step += 1) {
      await progress(step, payload.steps);
    }
    return { status: 'done', result: { echoed: payload.text } };
  },
});

const flakyStarts: number[] = [];
const flaky = defineJobKind({
  name: 'test.flaky',
  payload: Type.Object({}),
  retryLimit: 2,
  retryDelaySeconds: 1,
  retryBackoff: true,
  async run() {
    flakyStarts.push(Date.now());
    throw new Error('the registry answered 503');
  },
});

let slowAborted!: (reason: unknown) => void;
const slowAbortReason = new Promise<unknown>((resolve) => (slowAborted = resolve));
const slow = defineJobKind({
  name: 'test.slow',
  payload: Type.Object({}),
  async run(_payload, { signal, progress }) {
    await progress(1, 10);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    slowAborted(signal.reason);
    throw signal.reason;
  },
});

const strict = defineJobKind({
  name: 'test.strict',
  payload: Type.Object({ count: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  run: async () => ({ status: 'done' }),
});

const queueSchemaOf = (url: string | undefined, schema: string) => (url ? `${schema}_q` : 'spx_queue');

function queueOn(
  database: Database,
  url: string | undefined,
  schema: string,
  options: Partial<JobQueueOptions> = {},
) {
  return createJobQueue({
    database,
    url,
    schema: queueSchemaOf(url, schema),
    pollSeconds: 0.5,
    workersEnabled: true,
    ...options,
  });
}

describe.concurrent('the job queue', () => {
  let test: TestDatabase;
  let queue: JobQueue;
  beforeAll(async () => {
    test = await createTestDatabase();
    queue = queueOn(test.database, test.url, test.schema);
    for (const kind of [echo, flaky, slow, strict]) {
      queue.define(kind);
    }
    await queue.start();
  });
  afterAll(async () => {
    await queue.stop({ timeoutMs: 2_000 });
    await test.drop();
  });

  it('runs a job to succeeded, with its result and progress at 100%', async ({ expect }) => {
    const id = await queue.enqueue(
      echo,
      { text: 'hello', steps: 5 },
      { requestId: 'req-1', createdBy: CLIENT },
    );
    await expect.poll(async () => (await queue.get(id))?.status, POLL).toBe('succeeded');
    const job = await queue.get(id);
    expect(job).toMatchObject({
      id,
      kind: 'test.echo',
      progress: { done: 5, total: 5, percent: 100 },
      attempts: 1,
      result: { echoed: 'hello' },
      skip_reason: null,
      error: null,
    });
    expect(Date.parse(job!.finished_at!)).toBeGreaterThanOrEqual(Date.parse(job!.started_at!));
    const row = await test.database.db
      .selectFrom('jobs')
      .select('request_id')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.request_id).toBe('req-1');
    expect((await queue.list({ kind: 'test.echo', status: 'succeeded' })).map((j) => j.id)).toContain(id);
  });

  it('shows a client only its own jobs', async ({ expect }) => {
    const id = await queue.enqueue(echo, { text: 'mine', steps: 1 }, { createdBy: CLIENT });
    expect((await queue.get(id, { createdBy: CLIENT }))?.id).toBe(id);
    expect(await queue.get(id, { createdBy: OTHER_CLIENT })).toBeUndefined();
    expect(await queue.cancel(id, { createdBy: OTHER_CLIENT })).toBeUndefined();
    expect((await queue.list({ createdBy: CLIENT })).map((j) => j.id)).toContain(id);
    expect((await queue.list({ createdBy: OTHER_CLIENT })).map((j) => j.id)).not.toContain(id);
  });

  it('reports a job that had nothing to do as succeeded, with the reason it skipped', async ({ expect }) => {
    const id = await queue.enqueue('test.echo', { text: 'x', steps: 0, skip: true });
    await expect.poll(async () => (await queue.get(id))?.status, POLL).toBe('succeeded');
    expect(await queue.get(id)).toMatchObject({ result: null, skip_reason: 'nothing to echo' });
  });

  it('refuses a bad payload with each error listed, and writes nothing', async ({ expect }) => {
    const refused = await queue
      .enqueue('test.strict', { count: 0, extra: true })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProblemError);
    expect((refused as ProblemError).status).toBe(400);
    expect((refused as ProblemError).errors?.map((e) => e.pointer)).toEqual(
      expect.arrayContaining(['/count', '/extra']),
    );
    expect(await queue.list({ kind: 'test.strict' })).toEqual([]);
    await expect(queue.enqueue('test.unknown', {})).rejects.toThrow(/unknown job kind/);
  });

  it('retries a failing job with growing delays, then marks it failed with the message only', async ({
    expect,
  }) => {
    const id = await queue.enqueue(flaky, {});
    await expect.poll(async () => (await queue.get(id))?.status, POLL).toBe('retrying');
    expect(await queue.get(id)).toMatchObject({
      attempts: 1,
      error: 'the registry answered 503',
      finished_at: null,
    });
    await expect.poll(async () => (await queue.get(id))?.status, { ...POLL, timeout: 12_000 }).toBe('failed');
    const job = await queue.get(id);
    expect(job).toMatchObject({ attempts: 3, error: 'the registry answered 503' }); // retryLimit + 1
    expect(job!.finished_at).not.toBeNull();
    const [first, second, third] = flakyStarts as [number, number, number];
    // Backoff: retryDelay × 2^(n-1), plus up to as much again of jitter (pg-boss's failJobs plan).
    expect(second - first).toBeGreaterThanOrEqual(950);
    expect(third - second).toBeGreaterThanOrEqual(1_950);
  });

  it('cancels a running job: its signal aborts and it stays cancelled', async ({ expect }) => {
    const id = await queue.enqueue(slow, {});
    await expect.poll(async () => (await queue.get(id))?.status, POLL).toBe('running');
    const cancelled = await queue.cancel(id);
    expect(cancelled).toMatchObject({ status: 'cancelled', progress: { done: 1, total: 10, percent: 10 } });
    expect(cancelled!.finished_at).not.toBeNull();
    const reason = await slowAbortReason;
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).why).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the handler has thrown; nothing is overwritten
    expect(await queue.get(id)).toMatchObject({ status: 'cancelled', error: null, attempts: 1 });
    expect((await queue.cancel(id))?.status).toBe('cancelled');
    expect(await queue.cancel('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    expect(await queue.get('not-a-uuid')).toBeUndefined();
  });

  it('keeps jobs across a restart: queued ones run, one cut short by a crash runs again, finished ones do not', async ({
    expect,
  }) => {
    const store = restartableStore();
    try {
      const before = await enqueueAndStop(store);
      const interrupted = await crashWhileRunning(store);

      const database = await store.open();
      const attemptsSeen: number[] = [];
      const restarted = queueOn(database, store.url, store.schema, { maintenanceSeconds: 1 });
      restarted.define(echo);
      restarted.define(
        interruptedKind(async ({ label }, { attempt, signal }) => {
          attemptsSeen.push(attempt);
          if (label === 'finishes during shutdown') {
            await new Promise((resolve) => setTimeout(resolve, 300));
          } else if (label === 'outlasts shutdown') {
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            signal.throwIfAborted();
          }
          return { status: 'done' };
        }),
      );
      await restarted.start();
      let stopped = false;
      try {
        const slowPoll = { ...POLL, timeout: 15_000 };
        for (const id of [before.queued, before.keyed, interrupted]) {
          await expect.poll(async () => (await restarted.get(id))?.status, slowPoll).toBe('succeeded');
        }
        expect(await restarted.get(interrupted)).toMatchObject({ attempts: 2, error: null });
        expect(attemptsSeen).toEqual([2]);
        expect((await restarted.get(before.cancelled))?.status).toBe('cancelled');
        expect((await restarted.get(before.finished))?.status).toBe('succeeded');
        expect(echoRuns).toEqual(expect.arrayContaining([before.queued, before.keyed]));
        expect(echoRuns).not.toContain(before.cancelled);
        expect(echoRuns).not.toContain(before.finished);

        // Graceful shutdown: a job that ends within the timeout finishes; one that does not is
        // aborted and left to be retried by the next start.
        const finishing = await restarted.enqueue('test.interrupted', { label: 'finishes during shutdown' });
        const outlasting = await restarted.enqueue('test.interrupted', { label: 'outlasts shutdown' });
        for (const id of [finishing, outlasting]) {
          await expect.poll(async () => (await restarted.get(id))?.status, POLL).toBe('running');
        }
        stopped = true;
        await restarted.stop({ graceful: true, timeoutMs: 1_000 });
        expect((await restarted.get(finishing))?.status).toBe('succeeded');
        expect(await restarted.get(outlasting)).toMatchObject({
          status: 'retrying',
          error: 'the gateway stopped while the job was running',
        });
      } finally {
        if (!stopped) {
          await restarted.stop();
        }
        await database.close();
      }
    } finally {
      await store.remove();
    }
  });
});

interface Store {
  url: string | undefined;
  schema: string;
  dataDir: string | undefined;
  open(): Promise<Database>;
  remove(): Promise<void>;
}

/** A database that outlives its connections: a PGlite data directory, or a PostgreSQL schema. */
function restartableStore(): Store {
  const url = testDatabaseUrl();
  const schema = url ? `t_${randomBytes(6).toString('hex')}` : 'public';
  const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'spx-jobs-'));
  let first = true;
  return {
    url,
    schema,
    dataDir,
    async open() {
      const template = first && !url ? new Blob([readFileSync(inject('pgliteTemplate'))]) : undefined;
      first = false;
      const database = await openDatabase({ url, dataDir, schema, poolSize: 2, pgliteTemplate: template });
      await migrate(database);
      return database;
    },
    async remove() {
      if (dataDir) {
        rmSync(dataDir, { recursive: true, force: true });
        return;
      }
      const database = await openDatabase({ url, schema });
      await database.executeSql(
        `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
      );
      await database.close();
    },
  };
}

/** First life of the gateway, without workers: jobs are accepted, then it stops and disconnects. */
async function enqueueAndStop(store: Store) {
  const database = await store.open();
  const queue = queueOn(database, store.url, store.schema, { workersEnabled: false });
  queue.define(echo);
  queue.define(interruptedKind(async () => ({ status: 'done' })));
  await queue.start();
  // Its work was recorded but the gateway died before pg-boss heard: it must not run again.
  const finished = await queue.enqueue(echo, { text: 'done already', steps: 0 });
  await database.db
    .updateTable('jobs')
    .set({ status: 'succeeded', finished_at: new Date() })
    .where('id', '=', finished)
    .execute();
  const queued = await queue.enqueue(echo, { text: 'after the restart', steps: 2 });
  const keyed = await queue.enqueue(echo, { text: 'once', steps: 1 }, { singletonKey: 'nightly' });
  expect(await queue.enqueue(echo, { text: 'twice', steps: 1 }, { singletonKey: 'nightly' })).toBe(keyed);
  const cancelled = await queue.enqueue(echo, { text: 'never', steps: 1 });
  expect((await queue.cancel(cancelled))?.status).toBe('cancelled');
  expect((await queue.get(queued))?.status).toBe('queued');
  await queue.stop();
  await database.close();
  return { finished, queued, keyed, cancelled };
}

/** Second life, in a child process killed with SIGKILL while its job runs; returns the job's id. */
async function crashWhileRunning(store: Store): Promise<string> {
  const runTs = fileURLToPath(new URL('../../../bin/run-ts.js', import.meta.url));
  const fixture = fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url));
  const config = {
    url: store.url,
    dataDir: store.dataDir,
    schema: store.schema,
    queueSchema: queueSchemaOf(store.url, store.schema),
  };
  const child = spawn(process.execPath, [runTs, fixture, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    return await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const running = /running ([0-9a-f-]{36})/.exec(output);
        if (running) {
          resolve(running[1]!);
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`the crash fixture exited (${code}) before running its job`)),
      );
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}
