import type { Static, TSchema } from '@sinclair/typebox';

/** What a handler reports when it ends normally. Throwing is the third outcome: a failed attempt. */
export type JobOutcome = { status: 'done'; result?: unknown } | { status: 'skipped'; reason: string };

/** The small logger a job uses (pino's and Fastify's loggers fit it). */
export interface JobLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What a handler receives besides its payload. */
export interface JobContext {
  readonly jobId: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  /** The request that enqueued the job, so that logs and audit rows join up. */
  readonly requestId: string | undefined;
  /** The API client that enqueued the job. */
  readonly createdBy: string | undefined;
  /**
   * Aborted when the job is cancelled, runs past its `expireInSeconds`, or the queue stops. A handler
   * passes it to fetch() and checks it between steps; `signal.reason` says why.
   */
  readonly signal: AbortSignal;
  /**
   * Records progress on the job resource. Writes are throttled (at most one every 250 ms, and always
   * when done reaches total); the last values are written when the attempt ends. Never rejects.
   * A running job that another gateway cancelled is noticed here: the signal is then aborted.
   */
  progress(done: number, total?: number): Promise<void>;
  /** Logs with the job id, kind, attempt and request id attached. Never log payload contents. */
  readonly log: JobLogger;
}

/**
 * A long operation, declared in its own file (one file per job kind). Handlers must be idempotent:
 * after a crash, a shutdown or a timeout the same payload runs again (a new attempt), possibly
 * after some of its steps already took effect. Check before each side effect (upsert, "already
 * sent?" lookups, keyed writes) rather than assuming a fresh start.
 *
 * A thrown error fails the attempt; its message (only the message) is stored on the job and shown
 * to whoever asked for it, so it must never carry personal data.
 */
export interface JobKind<S extends TSchema = TSchema> {
  /** The queue name: lower case, dots, dashes and underscores (`dci.search`, `export.csv`). */
  readonly name: string;
  /** The payload schema. Payloads are stored as JSON, so use JSON types (no Type.Date). */
  readonly payload: S;
  /** Retries after the first attempt (default 2, so 3 attempts in all). */
  readonly retryLimit?: number;
  /** Delay before a retry (default 10 s); with backoff it doubles each time, plus jitter. */
  readonly retryDelaySeconds?: number;
  /** Exponential backoff between retries (default true). */
  readonly retryBackoff?: boolean;
  /**
   * How long one attempt may run (default 900 s, at most 24 h). Past it the signal is aborted and
   * the attempt fails. It is also how long a job whose worker died stays claimed on PostgreSQL.
   */
  readonly expireInSeconds?: number;
  /** Jobs of this kind run at once in one gateway (default 1). */
  readonly concurrency?: number;
  run(payload: Static<S>, context: JobContext): Promise<JobOutcome>;
}

/** Declares a job kind with the payload type inferred from its schema. */
export const defineJobKind = <S extends TSchema>(kind: JobKind<S>): JobKind<S> => kind;

/** The settings a kind leaves out. */
export const KIND_DEFAULTS = {
  retryLimit: 2,
  retryDelaySeconds: 10,
  retryBackoff: true,
  expireInSeconds: 900,
  concurrency: 1,
} as const;

/**
 * Thrown by a handler when retrying cannot help (the peer refused the request as invalid, the
 * record is gone): the job ends 'failed' at once, whatever retries are left.
 */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

const KIND_NAME = /^[a-z][a-z0-9_.-]{0,99}$/;

/** Fails fast on a kind that pg-boss would reject or that would misbehave later. */
export function assertValidKind(kind: JobKind): void {
  if (!KIND_NAME.test(kind.name)) {
    throw new Error(`invalid job kind name "${kind.name}"`);
  }
  const expire = kind.expireInSeconds ?? KIND_DEFAULTS.expireInSeconds;
  if (!(expire >= 1 && expire < 24 * 3600)) {
    throw new Error(`job kind ${kind.name}: expireInSeconds must be between 1 and 86399`);
  }
  for (const [key, value] of Object.entries({
    retryLimit: kind.retryLimit,
    retryDelaySeconds: kind.retryDelaySeconds,
    concurrency: kind.concurrency,
  })) {
    if (value !== undefined && !(Number.isInteger(value) && value >= (key === 'concurrency' ? 1 : 0))) {
      throw new Error(`job kind ${kind.name}: ${key} must be a whole number`);
    }
  }
}
