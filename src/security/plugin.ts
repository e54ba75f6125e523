import fp from 'fastify-plugin';
import type { X509Certificate } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { OwnKeys } from '#platform/crypto/own-keys';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import type { AnomalyGuard } from './anomaly/guard.ts';
import { anomalyRoutes } from './anomaly/routes.ts';
import { accessRoutes } from './clients/routes.ts';
import { gatewayKeyRoutes } from './keys/routes.ts';
import { oauthCredentialRoutes } from './oauth/credential-routes.ts';
import { oauthProviderRoutes } from './oauth/provider-routes.ts';
import type { OAuth } from './oauth/service.ts';
import { oauthRoutes } from './oauth/token-routes.ts';
import { policyRoutes } from './policy/routes.ts';
import { certificateRoutes } from './tls/routes.ts';

export interface SecurityPluginOptions {
  db: Kysely<DB>;
  config: Config;
  /** Our tokens and the identity providers we trust (also an authenticator of access control). */
  oauth: OAuth;
  /** The anomaly guard screening every request (installed with access control). */
  guard: AnomalyGuard;
  /** The stores of our own keys, one per purpose. */
  keys: readonly OwnKeys[];
  /** The CAs of client certificates, when the mutual-TLS listener is on. */
  clientCas: X509Certificate[] | undefined;
}

/**
 * The admin APIs of security: clients and their keys, data sharing agreements, client
 * certificates, our keys, OAuth (token endpoint, credentials, identity providers), the anomaly guard.
 */
async function security(app: App, options: SecurityPluginOptions): Promise<void> {
  const { db, config, oauth } = options;
  await app.register(accessRoutes, { prefix: API_PREFIX, db, config });
  await app.register(policyRoutes, { prefix: API_PREFIX, db });
  await app.register(certificateRoutes, { prefix: API_PREFIX, db, clientCas: options.clientCas });
  await app.register(gatewayKeyRoutes, {
    prefix: API_PREFIX,
    keys: options.keys,
    graceHours: config.keyGraceHours,
  });
  await app.register(oauthRoutes, { oauth });
  await app.register(oauthCredentialRoutes, { prefix: API_PREFIX, db, config });
  await app.register(oauthProviderRoutes, { prefix: API_PREFIX, db, oauth });
  await app.register(anomalyRoutes, { prefix: API_PREFIX, db, guard: options.guard });
}

export const securityPlugin = fp(security, {
  name: 'security',
  decorators: { fastify: ['clientChanges', 'accessPolicies'] },
});
