import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { JSON_TEXT, slicedJson } from '#platform/http/long-reads';
import { badRequest } from '#platform/problem';
import type { App } from '#platform/http/types';
import type { buildGraphqlEngine } from './engine.ts';

/**
 * POST /graphql: the registry as a GraphQL API and an Apollo Federation v2 subgraph (issue 6).
 *
 * Mercurius runs the queries (engine.ts, loaded on the first call); its own routes are off,
 * so that this route declares its access like every other: the caller is authenticated,
 * authorised (registry:read), held to its data sharing agreement, rate limit and quota, and the
 * call is audited with the number and ids of the records returned. HTTP-level faults (no
 * credentials, a body that is not a GraphQL request) are RFC 9457 problems; a document refused
 * before it runs is a 400 with GraphQL errors; an executed one is a 200 with `data` and, for the
 * fields that failed or were withheld, `errors`.
 */

const GraphQLRequest = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 100_000, description: 'The GraphQL document' }),
    variables: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    operationName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    extensions: Type.Optional(
      Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'Ignored' }),
    ),
  },
  { additionalProperties: false },
);

const GraphQLResponse = Type.Object({
  data: Type.Optional(Type.Unknown({ description: 'The result; null when nothing could be returned' })),
  errors: Type.Optional(
    Type.Array(Type.Unknown(), { description: 'GraphQL errors, each with extensions.code' }),
  ),
});

/** A query that parses as JSON is no GraphQL document (Mercurius would read it as a syntax tree). */
function isJson(query: string): boolean {
  try {
    JSON.parse(query);
    return true;
  } catch {
    return false;
  }
}

export async function graphqlRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  // Built once, on the first call (engine.ts says why); concurrent first calls share the build.
  let engine: ReturnType<typeof buildGraphqlEngine> | undefined;
  const engineOnce = () =>
    (engine ??= import('./engine.ts').then(({ buildGraphqlEngine }) => buildGraphqlEngine(db)));
  app.addHook('onClose', async () => {
    await (await engine)?.close();
  });

  app.post(
    '/graphql',
    {
      config: {
        access: {
          permission: 'registry:read',
          audit: { action: 'graphql.query', resourceType: 'graphql' },
          registry: 'social',
        },
      },
      schema: {
        tags: ['registry'],
        operationId: 'queryGraphql',
        summary:
          'GraphQL API (Apollo Federation v2 subgraph): households, individuals, programs, enrollments',
        description: 'See docs/graphql.md. Introspection is open to authenticated callers.',
        body: GraphQLRequest,
        response: {
          200: GraphQLResponse,
          400: Type.Unknown({
            description:
              'A problem (RFC 9457) for a body that is not a GraphQL request; GraphQL errors for a refused document',
          }),
        },
      },
    },
    async (request, reply) => {
      if (isJson(request.body.query)) {
        throw badRequest('query must be GraphQL source text', [{ pointer: '/query', detail: 'is JSON' }]);
      }
      const { status, body } = await (await engineOnce()).handle(request, reply, request.body);
      if (status === 400) {
        return reply.code(400).send(body);
      }
      // Written a few records at a time (a 500-household page with members is some 2 MB of JSON).
      return reply.type('application/json; charset=utf-8').send(await slicedJson(body, JSON_TEXT));
    },
  );
}
