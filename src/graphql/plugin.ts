import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { graphqlRoutes } from './routes.ts';

/** The GraphQL API (an Apollo Federation v2 subgraph) over the registry, at /graphql. */
async function graphql(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  await app.register(graphqlRoutes, { db });
}

export const graphqlPlugin = fp(graphql, { name: 'graphql' });
