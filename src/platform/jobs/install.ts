import type { TSchema } from '@sinclair/typebox';
import type { Config } from '#config/settings';
import type { Database } from '#platform/db/database';
import type { App } from '#platform/http/types';
import type { JobKind } from './kind.ts';
import { createJobQueue, type JobQueue } from './queue.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's durable job queue (started when the app is ready, stopped when it closes). */
    jobs: JobQueue;
  }
}

/**
 * The job queue as `app.jobs`: capabilities define their job kinds on it when registered, it starts
 * once the app is ready and stops, gracefully, when it closes.
 */
export function installJobQueue(
  app: App,
  { database, config, kinds }: { database: Database; config: Config; kinds: JobKind<TSchema>[] },
): JobQueue {
  const jobs = createJobQueue({
    database,
    url: config.databaseUrl,
    schema: config.jobsSchema,
    pollSeconds: config.jobsPollSeconds,
    workersEnabled: config.jobsEnabled,
    logger: app.log,
  });
  app.decorate('jobs', jobs);
  kinds.forEach((kind) => jobs.define(kind));
  app.addHook('onReady', () => jobs.start());
  // onClose runs once the server has stopped and in-flight requests are done.
  app.addHook('onClose', () => jobs.stop({ graceful: true, timeoutMs: config.shutdownTimeoutMs }));
  return jobs;
}
