import fp from 'fastify-plugin';
import type { Config } from '#config/settings';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { runWhileUp } from '#platform/jobs/periodic';
import { systemResolve } from '#platform/outbound/address';
import { odkAdminRoutes } from './admin-routes.ts';
import { centralPullJob } from './central/pull.ts';
import { centralRoutes } from './central/routes.ts';
import { pullCentralPeriodically } from './central/schedule.ts';
import { installShippedForm } from './forms.ts';
import { openRosaRoutes } from './openrosa-routes.ts';

export interface OdkPluginOptions {
  db: Kysely<DB>;
  config: Config;
  /** Seals the ODK Central credentials. */
  vault: KeyVault;
}

/**
 * Field data: the OpenRosa server ODK Collect talks to (under /odk), the forms and mappings admin
 * API, and the ODK Central connector with its pull job and schedule.
 */
async function odk(app: App, { db, config, vault }: OdkPluginOptions): Promise<void> {
  const maxSubmissionBytes = config.odkMaxSubmissionMb * 1024 * 1024;
  app.jobs.define(
    centralPullJob(db, vault, { resolve: systemResolve, timeoutMs: 60_000, maxBytes: maxSubmissionBytes }),
  );
  if (config.jobsEnabled) {
    runWhileUp(app, () =>
      pullCentralPeriodically(db, app.jobs, (error) =>
        app.log.error({ error: String(error) }, 'starting scheduled ODK Central pulls failed'),
      ),
    );
  }
  await installShippedForm(db);
  await app.register(odkAdminRoutes, { prefix: API_PREFIX, db });
  await app.register(centralRoutes, {
    prefix: API_PREFIX,
    db,
    vault,
    jobs: app.jobs,
    resolve: systemResolve,
  });
  await app.register(openRosaRoutes, { prefix: '/odk', db, publicUrl: config.publicUrl, maxSubmissionBytes });
}

export const odkPlugin = fp(odk, { name: 'odk', decorators: { fastify: ['jobs'] } });
