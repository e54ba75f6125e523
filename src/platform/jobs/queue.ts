import { randomUUID } from 'node:crypto';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type PgBoss from 'pg-boss';
import type { Database } from '#platform/db/database';
import { badRequest } from '#platform/problem';
import { JobAbortedError, RunningAttempts } from './attempts.ts';
import { createBoss, failOrphanedAttempts, findUnfinishedByKey, viaKysely } from './boss.ts';
import { assertValidKind, KIND_DEFAULTS, type JobKind, type JobLogger } from './kind.ts';
import { cancelJobRow, findJobRow, insertJobRow, listJobRows, type JobScope } from './queries.ts';
import { runAttempt, type RunnerDeps } from './runner.ts';
import { toJobResource, type JobResource, type JobStatus } from './schemas.ts';

export { JobAbortedError } from './attempts.ts';
export {
  defineJobKind,
  PermanentJobError,
  type JobContext,
  type JobKind,
  type JobLogger,
  type JobOutcome,
} from './kind.ts';
export type { JobScope } from './queries.ts';
export { JobResource } from './schemas.ts';

export interface JobQueueOptions {
  database: Database;
  /** The PostgreSQL URL (required there): pg-boss opens its own small pool on it. Unused on PGlite. */
  url?: string | undefined;
  /** Schema of pg-boss's tables (setting jobsSchema). */
  schema: string;
  /** How often idle workers look for work (setting jobsPollSeconds, at least 0.5). */
  pollSeconds: number;
  /** Run handlers in this process (setting jobsEnabled); without, jobs are only accepted and reported. */
  workersEnabled: boolean;
  logger?: JobLogger | undefined;
  /** pg-boss maintenance (expiring attempts of dead workers, archiving): default 120 s. */
  maintenanceSeconds?: number;
  /** PostgreSQL: connections of pg-boss's pool (default 4). */
  poolSize?: number;
}

export interface EnqueueOptions {
  requestId?: string | undefined;
  /** The API client that asked for the job. */
  createdBy?: string | undefined;
  /** While a job of this kind with this key is unfinished, enqueue returns its id instead of adding one. */
  singletonKey?: string | undefined;
  /** Not run before this time. */
  startAfter?: Date | undefined;
}

export interface JobFilter extends JobScope {
  kind?: string | undefined;
  status?: JobStatus | undefined;
  /** 1 to 500, default 50; newest first. */
  limit?: number | undefined;
}

export interface StopOptions {
  /** Let running handlers finish (up to timeoutMs) before aborting them; default true. */
  graceful?: boolean;
  timeoutMs?: number;
}

/** One durable queue for every long operation: jobs are rows in `jobs`, attempts are pg-boss jobs. */
export interface JobQueue {
  /** Registers a job kind; all kinds are defined before start(). */
  define<S extends TSchema>(kind: JobKind<S>): void;
  /** Validates the payload (a 400 ProblemError listing the errors, nothing written), adds the job, returns its id. */
  enqueue<S extends TSchema>(kind: JobKind<S>, payload: Static<S>, options?: EnqueueOptions): Promise<string>;
  enqueue(kind: string, payload: unknown, options?: EnqueueOptions): Promise<string>;
  /** The job resource, or undefined for an unknown id (or another client's job, given a scope). */
  get(id: string, scope?: JobScope): Promise<JobResource | undefined>;
  /**
   * Cancels a job that has not finished and aborts its handler's signal; returns the job as it now
   * stands (status 'cancelled', or its earlier end if it had already finished), undefined if unknown.
   */
  cancel(id: string, scope?: JobScope): Promise<JobResource | undefined>;
  list(filter?: JobFilter): Promise<JobResource[]>;
  /** Installs or upgrades pg-boss's tables, recovers interrupted attempts and starts the workers. */
  start(): Promise<void>;
  /** Stops taking work, waits for running handlers (graceful), aborts the rest; the database stays open. */
  stop(options?: StopOptions): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const silent: JobLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** Builds the job queue of a gateway (not started). */
export function createJobQueue(options: JobQueueOptions): JobQueue {
  const { database } = options;
  const log = options.logger ?? silent;
  const kinds = new Map<string, JobKind>();
  const workerIds = new Map<string, string[]>();
  const running = new RunningAttempts();
  const { boss, detach } = createBoss({
    database,
    url: options.url,
    schema: options.schema,
    maintenanceSeconds: options.maintenanceSeconds ?? 120,
    poolSize: options.poolSize ?? 4,
  });
  boss.on('error', (error: Error) => log.error({ error: error.message }, 'job queue error'));
  let state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  const deps: RunnerDeps = { db: database.db, log, running };

  const requireStarted = () => {
    if (state !== 'started') {
      throw new Error(`the job queue is ${state === 'new' ? 'not started' : 'stopped'}`);
    }
  };
  const kindOf = (name: string): JobKind => {
    const kind = kinds.get(name);
    if (!kind) {
      throw new Error(`unknown job kind "${name}"`);
    }
    return kind;
  };

  const work = async (kind: JobKind, [job]: PgBoss.JobWithMetadata[]) => {
    if (state !== 'started') {
      // Fetched while stop() began: failing it hands it back to pg-boss (retried after the restart).
      throw new JobAbortedError('stopping');
    }
    await runAttempt(kind, job!, deps);
  };

  return {
    define(kind) {
      if (state !== 'new') {
        throw new Error(`job kind ${kind.name} defined after start()`);
      }
      if (kinds.has(kind.name)) {
        throw new Error(`job kind ${kind.name} is defined twice`);
      }
      assertValidKind(kind);
      kinds.set(kind.name, kind);
    },

    async enqueue(kindOrName: JobKind | string, payload: unknown, enqueueOptions: EnqueueOptions = {}) {
      requireStarted();
      const kind = kindOf(typeof kindOrName === 'string' ? kindOrName : kindOrName.name);
      const json = checkedPayload(kind, payload);
      const id = await addJob(kind, json, enqueueOptions);
      for (const workerId of workerIds.get(kind.name) ?? []) {
        boss.notifyWorker(workerId); // a local worker starts it now rather than at its next poll
      }
      return id;
    },

    get,

    async cancel(id, scope = {}) {
      requireStarted();
      if (!UUID.test(id)) {
        return undefined;
      }
      const row = await database.db.transaction().execute(async (trx) => {
        const cancelled = await cancelJobRow(trx, id, scope);
        if (cancelled) {
          await boss.cancel(cancelled.kind, id, { db: viaKysely(trx) });
        }
        return cancelled;
      });
      if (!row) {
        return get(id, scope);
      }
      running.abort(id, 'cancelled');
      log.info({ jobId: id, kind: row.kind }, 'job cancelled');
      return toJobResource(row);
    },

    async list(filter = {}) {
      const limit = Number.isInteger(filter.limit) ? Math.min(500, Math.max(1, filter.limit!)) : 50;
      const rows = await listJobRows(database.db, { ...filter, limit });
      return rows.map(toJobResource);
    },

    async start() {
      if (state !== 'new') {
        throw new Error('the job queue starts once');
      }
      await boss.start();
      const orphans = await failOrphanedAttempts(boss, database, options.schema);
      if (orphans > 0) {
        log.warn({ count: orphans }, 'jobs interrupted by the last stop will be retried');
      }
      for (const kind of kinds.values()) {
        await boss.createQueue(kind.name); // pg-boss 10: a queue exists before send() and work()
      }
      state = 'started';
      if (options.workersEnabled) {
        for (const kind of kinds.values()) {
          workerIds.set(kind.name, await startWorkers(kind));
        }
      }
    },

    async stop({ graceful = true, timeoutMs = 10_000 } = {}) {
      if (state !== 'started') {
        state = 'stopped';
        return;
      }
      state = 'stopping';
      for (const name of workerIds.keys()) {
        await boss.offWork(name); // no new attempts
      }
      if (graceful && !(await running.idle(timeoutMs))) {
        log.warn({ running: running.size }, 'jobs still running at shutdown are aborted and will be retried');
      }
      running.abortAll('stopping');
      // Aborted attempts only record how they ended; then pg-boss has no work in progress left.
      await running.idle(5_000);
      await boss.stop({ graceful: true, timeout: 1_000, wait: true });
      detach();
      state = 'stopped';
    },
  };

  async function get(id: string, scope: JobScope = {}): Promise<JobResource | undefined> {
    const row = UUID.test(id) ? await findJobRow(database.db, id, scope) : undefined;
    return row && toJobResource(row);
  }

  async function startWorkers(kind: JobKind): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < (kind.concurrency ?? KIND_DEFAULTS.concurrency); i += 1) {
      ids.push(
        await boss.work<object>(
          kind.name,
          { pollingIntervalSeconds: options.pollSeconds, includeMetadata: true, batchSize: 1 },
          (jobs) => work(kind, jobs),
        ),
      );
    }
    return ids;
  }

  /**
   * The row and the pg-boss job are written in one transaction (pg-boss's `db` send option runs its
   * insert on this transaction's connection, on both engines): there is never a row that no attempt
   * will pick up, nor an attempt without a row. The runner still skips an attempt whose row is
   * missing or finished, e.g. one delivered again after a crash.
   */
  async function addJob(kind: JobKind, payload: unknown, enqueueOptions: EnqueueOptions): Promise<string> {
    const id = randomUUID();
    const { singletonKey, startAfter } = enqueueOptions;
    return database.db.transaction().execute(async (trx) => {
      const existing = singletonKey
        ? await findUnfinishedByKey(trx, options.schema, kind.name, singletonKey)
        : undefined;
      if (existing) {
        return existing;
      }
      await insertJobRow(trx, {
        id,
        kind: kind.name,
        payload,
        requestId: enqueueOptions.requestId,
        createdBy: enqueueOptions.createdBy,
      });
      const sent = await boss.send(
        kind.name,
        {},
        {
          id,
          singletonKey,
          ...(startAfter ? { startAfter } : {}),
          ...retryOptions(kind),
          db: viaKysely(trx),
        },
      );
      if (sent !== id) {
        throw new Error(`the queue did not accept job ${id} (${kind.name})`);
      }
      return id;
    });
  }
}

function retryOptions(kind: JobKind): PgBoss.SendOptions {
  return {
    retryLimit: kind.retryLimit ?? KIND_DEFAULTS.retryLimit,
    retryDelay: kind.retryDelaySeconds ?? KIND_DEFAULTS.retryDelaySeconds,
    retryBackoff: kind.retryBackoff ?? KIND_DEFAULTS.retryBackoff,
    expireInSeconds: kind.expireInSeconds ?? KIND_DEFAULTS.expireInSeconds,
  };
}

/**
 * The payload as the handler will receive it (its JSON form, as stored), checked against the kind's
 * schema. A bad payload is a 400 listing each error with a JSON pointer into the payload.
 */
function checkedPayload(kind: JobKind, payload: unknown): unknown {
  const text = JSON.stringify(payload) as string | undefined;
  const json: unknown = text === undefined ? null : JSON.parse(text);
  if (Value.Check(kind.payload, json)) {
    return json;
  }
  const errors = [...Value.Errors(kind.payload, json)].slice(0, 20).map((error) => ({
    pointer: error.path,
    detail: error.message,
  }));
  throw badRequest(`invalid payload for job kind ${kind.name}`, errors);
}
