import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { changeRequestRoutes } from './changes/routes.ts';
import { consentRoutes } from './consent/routes.ts';
import { registryRoutes } from './routes.ts';

/** The Social Registry: households, individuals and programs read, consents, change requests. */
async function registry(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  await app.register(registryRoutes, { prefix: API_PREFIX, db });
  await app.register(consentRoutes, { prefix: API_PREFIX, db });
  await app.register(changeRequestRoutes, { prefix: API_PREFIX, db });
}

export const registryPlugin = fp(registry, { name: 'registry' });
