import { readFileSync } from 'node:fs';
import websocket from '@fastify/websocket';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { Authenticator } from '#platform/auth/authenticate';
import type { KeyVault } from '#platform/crypto/key-vault';
import { openKeyVault } from '#platform/crypto/open-vault';
import { OwnKeys } from '#platform/crypto/own-keys';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';
import { jwksRoute } from '#platform/http/jwks-routes';
import { installMetrics } from '#platform/http/metrics';
import { API_PREFIX, installOpenApi } from '#platform/http/openapi';
import { operationsRoutes } from '#platform/http/operations-routes';
import { createServer } from '#platform/http/server';
import type { App } from '#platform/http/types';
import { installJobQueue } from '#platform/jobs/install';
import type { JobKind } from '#platform/jobs/queue';
import { jobRoutes } from '#platform/jobs/routes';
import { installSecurity } from '#security/access';
import { TOKEN_SIGNING_KEYS } from '#security/oauth/signing-keys';
import { securityPlugin } from '#security/plugin';
import { tlsListener } from '#security/tls/listener';
import { readTlsSettings } from '#security/tls/settings';
import { auditPlugin } from '#audit/plugin';
import { consoleServerPlugin } from '#console-server/plugin';
import { consoleSessionAuthenticator } from '#console-server/session';
import { DCI_ENCRYPTION_KEYS } from '#dci/encryption/keys';
import { createDciEncryption } from '#dci/encryption/service';
import { dciPlugin } from '#dci/plugin';
import { DCI_SIGNING_KEYS } from '#dci/signature/keys';
import { createDciSignatures } from '#dci/signature/service';
import { exportsPlugin } from '#exports/plugin';
import { graphqlPlugin } from '#graphql/plugin';
import { ibrPlugin } from '#ibr/plugin';
import { monitorPlugin } from '#monitor/plugin';
import { recordTraffic, TrafficRecorder } from '#monitor/traffic';
import { odkPlugin } from '#odk/plugin';
import { registryPlugin } from '#registry/plugin';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface AppDependencies {
  config: Config;
  database: Database;
  logger?: FastifyServerOptions['logger'];
  /** Job kinds beyond the gateway's own (tests and extensions). */
  jobKinds?: JobKind<TSchema>[];
  /** Clock of agreement dates, rate limits, quotas and the anomaly guard (tests pin it); Date.now by default. */
  now?: () => number;
  /**
   * Ways to authenticate tried before the gateway's own (extensions; the security benchmark's
   * credential-free caller, to measure what authentication costs).
   */
  authenticators?: Authenticator[];
}

/** The whole gateway without `listen` (tests, benchmarks and the CLI use it). */
export async function buildApp({
  config,
  database,
  logger,
  jobKinds = [],
  now,
  authenticators = [],
}: AppDependencies): Promise<App> {
  // The mutual-TLS listener's files are read first: a bad one stops the start before anything else.
  const tls = readTlsSettings(config);
  const { app, isClosing } = createServer(config, logger);
  const db = database.db;
  installJobQueue(app, { database, config, kinds: jobKinds });
  // Our private keys are sealed under the master key: a wrong master key stops the start here.
  const { vault, sealed } = await openKeyVault(config, db);
  if (sealed > 0) {
    app.log.warn({ sealed }, 'keys stored in the clear were sealed: rotate them (older backups hold them)');
  }
  const keys = gatewayKeys(db, vault);
  // One signer, verifier and encrypter for the DCI routes, the callbacks and the JWKS route (shared caches).
  const signatures = createDciSignatures({
    db,
    keys: keys.dciSigning,
    senderId: config.dciId,
    cacheMs: config.authCacheSeconds * 1000,
  });
  const encryption = createDciEncryption({ db, keys: keys.dciEncryption });

  await installOpenApi(app, { version: VERSION, publicUrl: config.publicUrl });
  // WebSocket upgrades (the export change feed), through the same access control as every route.
  // Registered first: its request hook marks upgrades, so that an upgrade refused by access control
  // has its socket closed rather than left open.
  await app.register(websocket);
  const { oauth, guard } = installSecurity(app, {
    db,
    config,
    tokenKeys: keys.tokenSigning,
    authenticators: [...authenticators, consoleSessionAuthenticator(db)],
    now,
  });
  const metrics = installMetrics(app);
  const traffic = new TrafficRecorder(db);
  recordTraffic(app, traffic);
  operationsRoutes(app, { db, metrics, version: VERSION, engine: database.engine, isClosing });
  await app.register(jobRoutes, { prefix: API_PREFIX, jobs: app.jobs });
  await app.register(jwksRoute, {
    sources: [() => signatures.publicKeys(), () => oauth.publicKeys(), () => encryption.publicKeys()],
  });

  // The capabilities, one plugin each owning its routes, job kinds and periodic work. Each is a
  // fastify-plugin: registered at the root, its hooks run in this order after the platform's (its job
  // kinds are defined before the queue starts, its periodic work starts after the queue does).
  await app.register(monitorPlugin, { db, traffic });
  await app.register(registryPlugin, { db });
  await app.register(odkPlugin, { db, config, vault });
  await app.register(ibrPlugin, { db, config });
  const clientCas = tls?.clientCas;
  await app.register(securityPlugin, { db, config, oauth, guard, keys: Object.values(keys), clientCas });
  await app.register(consoleServerPlugin, { db, config, oauth });
  await app.register(auditPlugin, { db });
  await app.register(exportsPlugin, { database, config, vault });
  await app.register(graphqlPlugin, { db });
  await app.register(dciPlugin, { db, config, signatures, encryption });
  // Last, so that closing the app waits for its requests before the hooks above stop the jobs.
  app.decorate('tlsListener', tls && tlsListener(app, tls));
  return app;
}

/** Our own key pairs, one store per purpose (rotated by the admin API and `spx gateway-keys`). */
export function gatewayKeys(db: Kysely<DB>, vault: KeyVault) {
  return {
    dciSigning: new OwnKeys(db, vault, DCI_SIGNING_KEYS),
    dciEncryption: new OwnKeys(db, vault, DCI_ENCRYPTION_KEYS),
    tokenSigning: new OwnKeys(db, vault, TOKEN_SIGNING_KEYS),
  };
}
