import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import type { OAuth } from '#security/oauth/service';
import { consoleOidcRoutes } from './oidc/routes.ts';
import { consoleSessionRoutes } from './session.ts';
import { consoleStatic } from './static-routes.ts';

export interface ConsoleServerOptions {
  db: Kysely<DB>;
  config: Config;
  /** The identity providers trusted for the console's OpenID sign-in. */
  oauth: OAuth;
}

/** The console's server side: sign-in and session, OpenID Connect sign-in, the web app's files. */
async function consoleServer(app: App, { db, config, oauth }: ConsoleServerOptions): Promise<void> {
  await app.register(consoleSessionRoutes, { prefix: API_PREFIX, db });
  await app.register(consoleStatic);
  await app.register(consoleOidcRoutes, { prefix: API_PREFIX, db, oauth, config });
}

export const consoleServerPlugin = fp(consoleServer, { name: 'console-server' });
