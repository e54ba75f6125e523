import fp from 'fastify-plugin';
import type { Config } from '#config/settings';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { Database } from '#platform/db/database';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { runWhileUp } from '#platform/jobs/periodic';
import { exportRoutes } from './export-routes.ts';
import { purgeFilesPeriodically } from './files.ts';
import { exportJob } from './job.ts';
import { runSchedulesPeriodically } from './schedule.ts';

export interface ExportsPluginOptions {
  database: Database;
  config: Config;
  /** Seals the pseudonym keys of export definitions. */
  vault: KeyVault;
}

/**
 * Exports: definitions, runs as jobs, files and their purge, schedules and the change feed (a
 * WebSocket: needs @fastify/websocket registered before access control).
 */
async function exportsCapability(app: App, { database, config, vault }: ExportsPluginOptions): Promise<void> {
  const { db, copyOut } = database;
  app.jobs.define(exportJob({ db, vault, dataDir: config.dataDir, copyOut }));
  const logError = (what: string) => (error: unknown) =>
    app.log.error({ error: String(error) }, `${what} failed`);
  runWhileUp(app, () => purgeFilesPeriodically(db, config.dataDir, logError('purging expired export files')));
  if (config.jobsEnabled) {
    runWhileUp(app, () =>
      runSchedulesPeriodically(db, app.jobs, config.exportFileHours, logError('starting scheduled exports')),
    );
  }
  await app.register(exportRoutes, {
    prefix: API_PREFIX,
    db,
    vault,
    jobs: app.jobs,
    dataDir: config.dataDir,
    fileHours: config.exportFileHours,
    feedPollMs: config.exportFeedPollMs,
    feedLimits: { perClient: config.exportFeedsPerClient, total: config.exportFeedsTotal },
    copyOut,
  });
}

export const exportsPlugin = fp(exportsCapability, {
  name: 'exports',
  decorators: { fastify: ['jobs', 'websocketServer'] },
});
