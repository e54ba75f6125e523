import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { eligibilityRoutes } from './eligibility-routes.ts';
import { enrollmentRoutes } from './enrollment-routes.ts';
import { identityVerifierOf } from './identity/configured.ts';
import { identityRoutes } from './identity/routes.ts';
import { ibrRoutes } from './participation-routes.ts';
import { programRoutes } from './program-routes.ts';

/** The IBR's own services: participation, programs, enrollments, eligibility, identity checks. */
async function ibr(app: App, { db, config }: { db: Kysely<DB>; config: Config }): Promise<void> {
  const verifier = identityVerifierOf(config);
  await app.register(ibrRoutes, { prefix: API_PREFIX, db });
  await app.register(programRoutes, { prefix: API_PREFIX, db });
  await app.register(enrollmentRoutes, { prefix: API_PREFIX, db, verifier });
  await app.register(eligibilityRoutes, { prefix: API_PREFIX, db });
  await app.register(identityRoutes, { prefix: API_PREFIX, db, verifier });
}

export const ibrPlugin = fp(ibr, { name: 'ibr' });
