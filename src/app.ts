import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { Config } from '#config/settings';
import type { Authenticator } from '#platform/auth/authenticate';
import type { Database } from '#platform/db/database';
import { installAccessControl } from '#platform/http/access-control';
import { handleError } from '#platform/http/errors';
import { installInputGuard } from '#platform/http/input-guard';
import { installMetrics } from '#platform/http/metrics';
import { installOpenApi } from '#platform/http/openapi';
import { operationsRoutes } from '#platform/http/operations-routes';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessRoutes } from '#security/clients/routes';
import { policyRoutes } from '#security/policy/routes';
import { createPolicyEnforcement } from '#security/policy/enforce';
import { auditRoutes } from '#audit/routes';
import type { TSchema } from '@sinclair/typebox';
import { createJobQueue, type JobKind, type JobQueue } from '#platform/jobs/queue';
import { jobRoutes } from '#platform/jobs/routes';
import { registryRoutes } from '#registry/routes';
import { consentRoutes } from '#registry/consent/routes';
import { ibrRoutes } from '#ibr/participation-routes';
import { enrollmentRoutes } from '#ibr/enrollment-routes';
import { programRoutes } from '#ibr/program-routes';
import { installShippedForm } from '#odk/forms';
import { openRosaRoutes } from '#odk/openrosa-routes';
import { odkAdminRoutes } from '#odk/admin-routes';
import { centralPullJob } from '#odk/central/pull';
import { centralRoutes } from '#odk/central/routes';
import { pullCentralPeriodically } from '#odk/central/schedule';
import { changeRequestRoutes } from '#registry/changes/routes';
import { consoleSessionAuthenticator, consoleSessionRoutes } from '#console-server/session';
import { consoleOidcRoutes } from '#console-server/oidc/routes';
import { consoleStatic } from '#console-server/static-routes';
import { monitorRoutes } from '#monitor/routes';
import { recordTraffic, TrafficRecorder } from '#monitor/traffic';
import { eligibilityRoutes } from '#ibr/eligibility-routes';
import { identityRoutes } from '#ibr/identity/routes';
import { identityVerifierOf } from '#ibr/identity/configured';
import { dciRoutes } from '#dci/plugin';
import { dciJobKinds, REPLAY_JOBS } from '#dci/jobs';
import { dciDeliveryRoutes } from '#dci/routes/deliveries';
import { purgeAnswersPeriodically } from '#dci/exchange/retention';
import type { Periodic } from '#platform/jobs/periodic';
import { dciClientSettingsRoutes } from '#dci/routes/client-settings';
import { dciTestEventRoutes } from '#dci/routes/test-event';
import { systemResolve } from '#dci/callback/address';
import { defaultReceiver } from '#dci/envelope';
import { dciNotifications } from '#dci/subscriptions/notifier';
import { dciSubscriptionAdminRoutes } from '#dci/routes/subscription-admin';
import { dciSignatureRoutes } from '#dci/signature/routes';
import { createDciSignatures } from '#dci/signature/service';
import { DCI_SIGNING_KEYS } from '#dci/signature/keys';
import { DCI_ENCRYPTION_KEYS } from '#dci/encryption/keys';
import { createDciEncryption } from '#dci/encryption/service';
import type { KeyVault } from '#platform/crypto/key-vault';
import { openKeyVault } from '#platform/crypto/open-vault';
import { OwnKeys } from '#platform/crypto/own-keys';
import { gatewayKeyRoutes } from '#security/keys/routes';
import { TOKEN_SIGNING_KEYS } from '#security/oauth/signing-keys';
import type { DB } from '#platform/db/types';
import type { Kysely } from 'kysely';
import { createClientPolicies } from '#dci/client-policy';
import { certificateAuthenticator, certificateOwnerCheck } from '#security/tls/authenticator';
import { tlsListener } from '#security/tls/listener';
import { certificateRoutes } from '#security/tls/routes';
import { readTlsSettings } from '#security/tls/settings';
import { AnomalyGuard } from '#security/anomaly/guard';
import { thresholdsFrom } from '#security/anomaly/rules';
import { anomalyRoutes } from '#security/anomaly/routes';
import { jwksRoute } from '#platform/http/jwks-routes';
import { oauthCredentialRoutes } from '#security/oauth/credential-routes';
import { oauthProviderRoutes } from '#security/oauth/provider-routes';
import { createOAuth } from '#security/oauth/service';
import { oauthRoutes } from '#security/oauth/token-routes';
import { issuerUrl } from '#security/oauth/urls';
import { exportJob } from '#exports/job';
import { purgeFilesPeriodically } from '#exports/files';
import { runSchedulesPeriodically } from '#exports/schedule';
import { exportRoutes } from '#exports/export-routes';
import websocket from '@fastify/websocket';
import { graphqlRoutes } from '#graphql/routes';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

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

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's durable job queue (started when the app is ready, stopped when it closes). */
    jobs: JobQueue;
  }
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
  let closing = false;
  // The mutual-TLS listener's files are read first: a bad one stops the start before anything else.
  const tls = readTlsSettings(config);
  const app = Fastify({
    logger: logger ?? { level: config.logLevel, serializers: { req: safeRequestLog } },
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    // Honour a caller's request id so logs and audit rows join up across systems.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setErrorHandler(handleError);
  // NUL characters and numbers no column holds: a 400 naming the field, on every route.
  installInputGuard(app);
  app.setNotFoundHandler((request) => {
    throw notFound(`route ${request.method} ${request.url.split('?')[0]}`);
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (closing) {
      // Responses finishing during shutdown close their keep-alive connection, so close() is not
      // held up by idle sockets until the keep-alive timeout.
      reply.header('connection', 'close');
    }
    if (!request.url.startsWith('/docs')) {
      reply.header('cache-control', 'no-store');
      reply.header('x-frame-options', 'DENY');
    }
  });
  app.addHook('preClose', async () => {
    closing = true;
  });

  const db = database.db;
  const jobs = createJobQueue({
    database,
    url: config.databaseUrl,
    schema: config.jobsSchema,
    pollSeconds: config.jobsPollSeconds,
    workersEnabled: config.jobsEnabled,
    logger: app.log,
  });
  app.decorate('jobs', jobs);
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
  const dciJobs = dciJobKinds({
    db,
    signatures,
    encryption,
    receiverId: config.dciId,
    retry: { retryLimit: config.dciCallbackRetries, retryDelaySeconds: config.dciCallbackBackoffSeconds },
  });
  const exportJobs = [exportJob({ db, vault, dataDir: config.dataDir, copyOut: database.copyOut })];
  const centralCalls = {
    resolve: systemResolve,
    timeoutMs: 60_000,
    maxBytes: config.odkMaxSubmissionMb * 1024 * 1024,
  };
  [...jobKinds, ...dciJobs, ...exportJobs, centralPullJob(db, vault, centralCalls)].forEach((kind) =>
    jobs.define(kind),
  );
  // Job kinds are defined by the capabilities below, before the queue starts.
  app.addHook('onReady', () => jobs.start());
  // onClose runs once the server has stopped and in-flight requests are done.
  app.addHook('onClose', () => jobs.stop({ graceful: true, timeoutMs: config.shutdownTimeoutMs }));
  // DCI notifications: registry changes matched against subscriptions (after the queue starts, stopped before it).
  dciNotifications(app, { db, intervalMs: config.dciNotifyIntervalMs });

  await installOpenApi(app, { version: VERSION, publicUrl: config.publicUrl });
  // OAuth 2.0: our access tokens and the identity providers we trust (the issuer URL may be known
  // only once the app listens).
  const oauth = createOAuth({
    db,
    config,
    keys: keys.tokenSigning,
    issuer: () => issuerUrl(config, () => app.addresses()),
  });
  const guard = new AnomalyGuard({
    db,
    thresholds: thresholdsFrom(config),
    enabled: config.anomalyGuard,
    now,
  });
  // WebSocket upgrades (the export change feed), through the same access control as every route.
  // Registered first: its request hook marks upgrades, so that an upgrade refused by access control
  // has its socket closed rather than left open.
  await app.register(websocket);
  installAccessControl(app, db, {
    screen: guard.screen,
    authCacheMs: config.authCacheSeconds * 1000,
    authenticators: [
      ...authenticators,
      consoleSessionAuthenticator(db),
      certificateAuthenticator(db),
      oauth.authenticator,
    ],
    principalChecks: [certificateOwnerCheck(db)],
    admission: (changes) =>
      createPolicyEnforcement(app, db, changes, {
        cacheMs: config.authCacheSeconds * 1000,
        defaultRateLimit: config.defaultRateLimit,
        defaultDailyQuota: config.defaultDailyQuota,
        usageFlushMs: config.usageFlushSeconds * 1000,
        now,
      }),
  });
  guard.install(app);
  const metrics = installMetrics(app);
  const traffic = new TrafficRecorder(db);
  recordTraffic(app, traffic);

  operationsRoutes(app, { db, metrics, version: VERSION, engine: database.engine, isClosing: () => closing });
  await app.register(registryRoutes, { prefix: '/api/v1', db });
  await app.register(consentRoutes, { prefix: '/api/v1', db });
  await app.register(ibrRoutes, { prefix: '/api/v1', db });
  await app.register(programRoutes, { prefix: '/api/v1', db });
  await app.register(changeRequestRoutes, { prefix: '/api/v1', db });
  await installShippedForm(db);
  await app.register(odkAdminRoutes, { prefix: '/api/v1', db });
  await app.register(centralRoutes, { prefix: '/api/v1', db, vault, jobs, resolve: systemResolve });
  await app.register(openRosaRoutes, {
    prefix: '/odk',
    db,
    publicUrl: config.publicUrl,
    maxSubmissionBytes: config.odkMaxSubmissionMb * 1024 * 1024,
  });
  const identityVerifier = identityVerifierOf(config);
  await app.register(enrollmentRoutes, { prefix: '/api/v1', db, verifier: identityVerifier });
  await app.register(eligibilityRoutes, { prefix: '/api/v1', db });
  await app.register(identityRoutes, { prefix: '/api/v1', db, verifier: identityVerifier });
  await app.register(accessRoutes, { prefix: '/api/v1', db, config });
  await app.register(consoleSessionRoutes, { prefix: '/api/v1', db });
  await app.register(consoleStatic);
  await app.register(monitorRoutes, { prefix: '/api/v1', db, traffic });
  await app.register(policyRoutes, { prefix: '/api/v1', db });
  await app.register(certificateRoutes, { prefix: '/api/v1', db, clientCas: tls?.clientCas });
  await app.register(dciClientSettingsRoutes, { prefix: '/api/v1', db });
  await app.register(dciTestEventRoutes, {
    prefix: '/api/v1',
    deps: {
      db,
      signatures,
      encryption,
      resolve: systemResolve,
      timeoutMs: 10_000,
      receiver: defaultReceiver(config.dciId),
    },
  });
  await app.register(dciSubscriptionAdminRoutes, { prefix: '/api/v1', db });
  await app.register(dciSignatureRoutes, { prefix: '/api/v1', db });
  await app.register(jwksRoute, {
    sources: [() => signatures.publicKeys(), () => oauth.publicKeys(), () => encryption.publicKeys()],
  });
  await app.register(gatewayKeyRoutes, {
    prefix: '/api/v1',
    keys: Object.values(keys),
    graceHours: config.keyGraceHours,
  });
  await app.register(oauthRoutes, { oauth });
  await app.register(oauthCredentialRoutes, { prefix: '/api/v1', db, config });
  await app.register(oauthProviderRoutes, { prefix: '/api/v1', db, oauth });
  await app.register(consoleOidcRoutes, { prefix: '/api/v1', db, oauth, config });
  await app.register(dciDeliveryRoutes, { prefix: '/api/v1', db, jobs, replayJobs: REPLAY_JOBS });
  await app.register(auditRoutes, { prefix: '/api/v1', db });
  await app.register(anomalyRoutes, { prefix: '/api/v1', db, guard });
  await app.register(jobRoutes, { prefix: '/api/v1', jobs });
  await app.register(exportRoutes, {
    prefix: '/api/v1',
    db,
    vault,
    jobs,
    dataDir: config.dataDir,
    fileHours: config.exportFileHours,
    feedPollMs: config.exportFeedPollMs,
    feedLimits: { perClient: config.exportFeedsPerClient, total: config.exportFeedsTotal },
    copyOut: database.copyOut,
  });
  await app.register(graphqlRoutes, { db });
  // DCI Social Registry and IBR APIs, each under its own base path (DCI issue).
  const policies = createClientPolicies(db, { cacheMs: config.authCacheSeconds * 1000 });
  const dci = {
    db,
    signatures,
    encryption,
    policies,
    receiverId: config.dciId,
    syncMaxRecords: config.dciSyncMaxRecords,
  };
  await app.register(dciRoutes, { prefix: '/dci/sr', registry: 'social', ...dci });
  await app.register(dciRoutes, { prefix: '/dci/ibr', registry: 'ibr', ...dci });
  let purges: Periodic[] = [];
  app.addHook('onReady', async () => {
    const failed = (what: string) => (error: unknown) =>
      app.log.error({ error: String(error) }, `purging ${what} failed`);
    purges = [
      purgeAnswersPeriodically(db, config.dciAnswerRetentionHours, failed('stored DCI answers')),
      purgeFilesPeriodically(db, config.dataDir, failed('expired export files')),
      traffic.start(5000, failed('traffic counts')),
      ...(config.jobsEnabled
        ? [
            runSchedulesPeriodically(db, jobs, config.exportFileHours, (error) =>
              app.log.error({ error: String(error) }, 'starting scheduled exports failed'),
            ),
            pullCentralPeriodically(db, jobs, (error) =>
              app.log.error({ error: String(error) }, 'starting scheduled ODK Central pulls failed'),
            ),
          ]
        : []),
    ];
  });
  app.addHook('onClose', async () => {
    await Promise.all(purges.map((purge) => purge.stop()));
    await traffic.flush();
  });
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

/** Request log lines carry the method and the path only: query strings can hold personal data. */
function safeRequestLog(req: { method: string; url: string; id: string }) {
  return { method: req.method, path: req.url.split('?')[0], id: req.id };
}
