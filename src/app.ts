import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { Authenticator } from '#platform/auth/authenticate';
import type { KeyVault } from '#platform/crypto/key-vault';
import { openKeyVault } from '#platform/crypto/open-vault';
import { OwnKeys } from '#platform/crypto/own-keys';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';
import { installAccessControl } from '#platform/http/access-control';
import { handleError } from '#platform/http/errors';
import { installInputGuard } from '#platform/http/input-guard';
import { jwksRoute } from '#platform/http/jwks-routes';
import { installMetrics } from '#platform/http/metrics';
import { API_PREFIX, installOpenApi } from '#platform/http/openapi';
import { operationsRoutes } from '#platform/http/operations-routes';
import type { App } from '#platform/http/types';
import { createJobQueue, type JobKind, type JobQueue } from '#platform/jobs/queue';
import { jobRoutes } from '#platform/jobs/routes';
import { notFound } from '#platform/problem';
import { AnomalyGuard } from '#security/anomaly/guard';
import { thresholdsFrom } from '#security/anomaly/rules';
import { createOAuth } from '#security/oauth/service';
import { TOKEN_SIGNING_KEYS } from '#security/oauth/signing-keys';
import { issuerUrl } from '#security/oauth/urls';
import { securityPlugin } from '#security/plugin';
import { createPolicyEnforcement } from '#security/policy/enforce';
import { certificateAuthenticator, certificateOwnerCheck } from '#security/tls/authenticator';
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
  jobKinds.forEach((kind) => jobs.define(kind));
  // The capabilities below define their job kinds when registered, before the queue starts.
  app.addHook('onReady', () => jobs.start());
  // onClose runs once the server has stopped and in-flight requests are done.
  app.addHook('onClose', () => jobs.stop({ graceful: true, timeoutMs: config.shutdownTimeoutMs }));

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
  await app.register(jobRoutes, { prefix: API_PREFIX, jobs });
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
  await app.register(securityPlugin, {
    db,
    config,
    oauth,
    guard,
    keys: Object.values(keys),
    clientCas: tls?.clientCas,
  });
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

/** Request log lines carry the method and the path only: query strings can hold personal data. */
function safeRequestLog(req: { method: string; url: string; id: string }) {
  return { method: req.method, path: req.url.split('?')[0], id: req.id };
}
