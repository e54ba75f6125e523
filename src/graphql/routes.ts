import { buildSubgraphSchema } from '@apollo/subgraph';
import { Type } from '@sinclair/typebox';
import { GraphQLError, visit, type DocumentNode } from 'graphql/index.js';
import type { Kysely } from 'kysely';
import mercurius from 'mercurius';
import type { DB } from '#platform/db/types';
import { JSON_TEXT, slicedJson } from '#platform/http/long-reads';
import { badRequest } from '#platform/problem';
import type { App } from '#platform/http/types';
import { principalOf } from '#platform/http/kit';
import { createContext, type GraphContext } from './context.ts';
import { formatErrors, refusalErrors } from './errors.ts';
import { checkLimits } from './limits.ts';
import { resolvers } from './resolvers.ts';
import { typeDefs } from './schema.ts';

/**
 * POST /graphql: the registry as a GraphQL API and an Apollo Federation v2 subgraph (issue 6).
 *
 * Mercurius runs the queries (parsed and validated documents are cached); its own routes are off,
 * so that this route declares its access like every other: the caller is authenticated,
 * authorised (registry:read), held to its data sharing agreement, rate limit and quota, and the
 * call is audited with the number and ids of the records returned. HTTP-level faults (no
 * credentials, a body that is not a GraphQL request) are RFC 9457 problems; a document refused
 * before it runs is a 400 with GraphQL errors; an executed one is a 200 with `data` and, for the
 * fields that failed or were withheld, `errors`.
 *
 * The modules here import `graphql/index.js`, the CommonJS build that mercurius and the Apollo
 * packages load: under vitest a bare `graphql` resolves to the package's ESM build, a second copy
 * whose schema objects the first refuses ("from another module or realm").
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

/** Tokens a document may hold: far above any real query, low enough to stop a parser flood. */
const MAX_TOKENS = 10_000;

/** A query that parses as JSON is no GraphQL document (Mercurius would read it as a syntax tree). */
function isJson(query: string): boolean {
  try {
    JSON.parse(query);
    return true;
  } catch {
    return false;
  }
}

/**
 * String arguments holding NUL (a `\u0000` escape in the document), which no field can hold: the
 * gateway refuses NUL wherever a request carries it (platform/http/input-guard.ts); the document's
 * literals are read only here.
 */
function nulArguments(document: DocumentNode): GraphQLError[] {
  const errors: GraphQLError[] = [];
  visit(document, {
    StringValue(node) {
      if (node.value.includes('\u0000')) {
        errors.push(
          new GraphQLError('a string argument holds the NUL character (U+0000), which no field can hold', {
            nodes: [node],
            extensions: { code: 'BAD_USER_INPUT' },
          }),
        );
      }
    },
  });
  return errors;
}

export async function graphqlRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  const schema = buildSubgraphSchema([{ typeDefs, resolvers }]);
  await app.register(mercurius, {
    schema,
    routes: false,
    graphql: { parseOptions: { maxTokens: MAX_TOKENS }, validateOptions: { maxErrors: 20 } },
    errorFormatter: (execution, context) => ({
      statusCode: 200,
      response: { data: execution.data ?? null, errors: formatErrors(execution.errors, context.reply.log) },
    }),
  });
  // Depth, page sizes and cost, once the document is valid and before any resolver runs.
  app.graphql.addHook('preExecution', (schema, document, context, variables) => {
    const errors = [
      ...nulArguments(document),
      ...checkLimits(schema, document, (context as unknown as GraphContext).operationName, variables),
    ];
    if (errors.length > 0) {
      throw Object.assign(new Error('the operation may not run'), { errors });
    }
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
      const { query, variables, operationName } = request.body;
      if (isJson(query)) {
        throw badRequest('query must be GraphQL source text', [{ pointer: '/query', detail: 'is JSON' }]);
      }
      const context = createContext(db, principalOf(request), operationName ?? undefined);
      request.auditNote = { recordCount: 0 };
      let result;
      try {
        result = await reply.graphql(query, context, variables ?? undefined, operationName ?? undefined);
      } catch (error) {
        const errors = refusalErrors(error, request.log);
        if (!errors) {
          throw error;
        }
        // A request error: no `data` entry (GraphQL spec, section Response).
        return reply.code(400).send({ errors });
      }
      request.auditNote = context.auditNote();
      request.lookups = context.lookups();
      // Written a few records at a time (a 500-household page with members is some 2 MB of JSON).
      return reply.type('application/json; charset=utf-8').send(await slicedJson(result, JSON_TEXT));
    },
  );
}
