import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { runWhileUp } from '#platform/jobs/periodic';
import { systemResolve } from './callback/address.ts';
import { createClientPolicies } from './client-policy.ts';
import type { DciEncryption } from './encryption/service.ts';
import { defaultReceiver } from './envelope.ts';
import { purgeAnswersPeriodically } from './exchange/retention.ts';
import { dciJobKinds, REPLAY_JOBS } from './jobs.ts';
import { dciClientSettingsRoutes } from './routes/client-settings.ts';
import { dciDeliveryRoutes } from './routes/deliveries.ts';
import { dciRoutes } from './routes/registry.ts';
import { dciSubscriptionAdminRoutes } from './routes/subscription-admin.ts';
import { dciTestEventRoutes } from './routes/test-event.ts';
import { dciSignatureRoutes } from './signature/routes.ts';
import type { DciSignatures } from './signature/service.ts';
import { dciNotifications } from './subscriptions/notifier.ts';

export interface DciPluginOptions {
  db: Kysely<DB>;
  config: Config;
  /** Message signatures and encryption, shared with the JWKS route (one cache of keys). */
  signatures: DciSignatures;
  encryption: DciEncryption;
}

/**
 * The DCI capability: the Social Registry and IBR APIs under their base paths (`/dci/sr`,
 * `/dci/ibr`), their admin API, the job kinds of the async endpoints, subscription notifications
 * and the purge of stored answers. Needs the job queue and the client changes of access control.
 */
async function dci(app: App, { db, config, signatures, encryption }: DciPluginOptions): Promise<void> {
  const retry = {
    retryLimit: config.dciCallbackRetries,
    retryDelaySeconds: config.dciCallbackBackoffSeconds,
  };
  dciJobKinds({ db, signatures, encryption, receiverId: config.dciId, retry }).forEach((kind) =>
    app.jobs.define(kind),
  );
  // Registry changes matched against subscriptions (after the queue starts, stopped before it).
  dciNotifications(app, { db, intervalMs: config.dciNotifyIntervalMs });
  runWhileUp(app, () =>
    purgeAnswersPeriodically(db, config.dciAnswerRetentionHours, (error) =>
      app.log.error({ error: String(error) }, 'purging stored DCI answers failed'),
    ),
  );

  const admin = { prefix: API_PREFIX, db };
  await app.register(dciClientSettingsRoutes, admin);
  const receiver = defaultReceiver(config.dciId);
  const testEvent = { db, signatures, encryption, resolve: systemResolve, timeoutMs: 10_000, receiver };
  await app.register(dciTestEventRoutes, { prefix: API_PREFIX, deps: testEvent });
  await app.register(dciSubscriptionAdminRoutes, admin);
  await app.register(dciSignatureRoutes, admin);
  await app.register(dciDeliveryRoutes, { ...admin, jobs: app.jobs, replayJobs: REPLAY_JOBS });

  const policies = createClientPolicies(db, { cacheMs: config.authCacheSeconds * 1000 });
  const mount = {
    db,
    signatures,
    encryption,
    policies,
    receiverId: config.dciId,
    syncMaxRecords: config.dciSyncMaxRecords,
  };
  await app.register(dciRoutes, { prefix: '/dci/sr', registry: 'social', ...mount });
  await app.register(dciRoutes, { prefix: '/dci/ibr', registry: 'ibr', ...mount });
}

export const dciPlugin = fp(dci, { name: 'dci', decorators: { fastify: ['jobs', 'clientChanges'] } });
