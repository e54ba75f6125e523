import { buildSubgraphSchema } from '@apollo/subgraph';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { GraphQLError, visit, type DocumentNode } from 'graphql/index.js';
import type { Kysely } from 'kysely';
import mercurius from 'mercurius';
import type { DB } from '#platform/db/types';
import { principalOf } from '#platform/http/kit';
import { createContext, type GraphContext } from './context.ts';
import { formatErrors, refusalErrors } from './errors.ts';
import { checkLimits } from './limits.ts';
import { resolvers } from './resolvers.ts';
import { typeDefs } from './schema.ts';

/**
 * The GraphQL engine behind POST /graphql (routes.ts): the federation schema and Mercurius, which
 * runs the queries (parsed and validated documents are cached). It is built on the first call, not
 * at start: graphql, @apollo/subgraph and mercurius are some 60 MB and half a second of a start
 * that most gateways never need (issue 21, item 3). Mercurius lives in a Fastify instance of its
 * own, with no routes, so that the gateway's route keeps its access control, audit and limits.
 *
 * The modules here import `graphql/index.js`, the CommonJS build that mercurius and the Apollo
 * packages load: under vitest a bare `graphql` resolves to the package's ESM build, a second copy
 * whose schema objects the first refuses ("from another module or realm").
 */

/** Tokens a document may hold: far above any real query, low enough to stop a parser flood. */
const MAX_TOKENS = 10_000;

/** Runs one GraphQL request: the answer to send (a 200 with the result, or a 400 for a refused document). */
export type GraphqlHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  body: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
) => Promise<{ status: 200 | 400; body: unknown }>;

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

/** Builds the schema and Mercurius; returns the request handler and a function that frees them. */
export async function buildGraphqlEngine(
  db: Kysely<DB>,
): Promise<{ handle: GraphqlHandler; close: () => Promise<void> }> {
  const engine = Fastify({ logger: false });
  await engine.register(mercurius, {
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    routes: false,
    graphql: { parseOptions: { maxTokens: MAX_TOKENS }, validateOptions: { maxErrors: 20 } },
    errorFormatter: (execution, context) => ({
      statusCode: 200,
      response: { data: execution.data ?? null, errors: formatErrors(execution.errors, context.reply.log) },
    }),
  });
  // Depth, page sizes and cost, once the document is valid and before any resolver runs.
  engine.graphql.addHook('preExecution', (schema, document, context, variables) => {
    const errors = [
      ...nulArguments(document),
      ...checkLimits(schema, document, (context as unknown as GraphContext).operationName, variables),
    ];
    if (errors.length > 0) {
      throw Object.assign(new Error('the operation may not run'), { errors });
    }
  });
  await engine.ready();

  const handle: GraphqlHandler = async (request, reply, { query, variables, operationName }) => {
    const context = createContext(db, principalOf(request), operationName ?? undefined);
    request.auditNote = { recordCount: 0 };
    let result;
    try {
      // `reply` in the context, as Mercurius's reply.graphql() puts it (the error formatter logs with it).
      result = await engine.graphql(
        query,
        Object.assign(context, { reply }),
        variables ?? undefined,
        operationName ?? undefined,
      );
    } catch (error) {
      const errors = refusalErrors(error, request.log);
      if (!errors) {
        throw error;
      }
      // A request error: no `data` entry (GraphQL spec, section Response).
      return { status: 400, body: { errors } };
    }
    request.auditNote = context.auditNote();
    request.lookups = context.lookups();
    return { status: 200, body: result };
  };
  return { handle, close: () => engine.close() };
}
