import type { FastifyBaseLogger } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql/index.js';
import { ProblemError } from '#platform/problem';

/**
 * GraphQL errors as clients receive them, each with `extensions.code`. The gateway's problems
 * (ProblemError, e.g. a bad `where` expression or a refused registry) keep their detail and status;
 * errors of the GraphQL layer (syntax, validation, limits, withheld fields) keep their message; any
 * other error is logged with the request id and answered without its message (STYLE habit 3).
 */

const CODE_OF_STATUS: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
};

function formatOne(error: GraphQLError, log: FastifyBaseLogger): GraphQLFormattedError {
  const original = error.originalError;
  const { message, locations, path } = error;
  const where = { ...(locations ? { locations } : {}), ...(path ? { path } : {}) };
  if (original instanceof ProblemError) {
    return {
      message: original.detail ?? original.title,
      ...where,
      extensions: {
        code: CODE_OF_STATUS[original.status] ?? original.slug.toUpperCase().replace(/-/g, '_'),
        status: original.status,
        ...(original.errors?.length ? { errors: original.errors } : {}),
      },
    };
  }
  if (original === undefined || original instanceof GraphQLError) {
    const code =
      error.extensions['code'] ?? (message.startsWith('Syntax Error') ? 'GRAPHQL_PARSE_FAILED' : undefined);
    return { ...error.toJSON(), extensions: { ...error.extensions, ...(code ? { code } : {}) } };
  }
  log.error({ err: original, path }, 'graphql resolver failed');
  return {
    message: 'internal error: the request could not be completed; it has been logged',
    ...where,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** The errors of an executed operation (partial data beside them). */
export const formatErrors = (
  errors: readonly GraphQLError[],
  log: FastifyBaseLogger,
): GraphQLFormattedError[] => errors.map((error) => formatOne(error, log));

/**
 * The errors of a document refused before it ran (syntax, validation, variables, limits), each
 * coded GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED or its limit's code; undefined when the
 * error is not such a refusal (it goes to the app's error handler).
 */
export function refusalErrors(error: unknown, log: FastifyBaseLogger): GraphQLFormattedError[] | undefined {
  // Mercurius throws MER_ERR_GQL_VALIDATION carrying the GraphQL errors; limits.ts, a GraphQLError.
  const list = error instanceof GraphQLError ? [error] : (error as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(list) || !list.every((e) => e instanceof GraphQLError)) {
    return undefined;
  }
  return list.map((e) => {
    const formatted = formatOne(e, log);
    const code = formatted.extensions?.['code'] ?? 'GRAPHQL_VALIDATION_FAILED';
    return { ...formatted, extensions: { ...formatted.extensions, code } };
  });
}
