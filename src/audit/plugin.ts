import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { auditRoutes } from './routes.ts';

/** The audit admin API: the trail, its chain check, and the data subject report. */
async function audit(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  await app.register(auditRoutes, { prefix: API_PREFIX, db });
}

export const auditPlugin = fp(audit, { name: 'audit' });
