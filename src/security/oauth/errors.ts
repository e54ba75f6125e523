import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toProblemError } from '#platform/http/errors';
import type { ProblemError } from '#platform/problem';
import { StringEnum } from '#platform/http/kit';

/**
 * Errors of the token endpoint as RFC 6749 §5.2 has them: a JSON `{ error, error_description }`
 * with status 400, or 401 and a Basic challenge when the client authenticated with HTTP Basic and
 * failed. `invalid_grant` is not among them: the client credentials grant carries no grant of its
 * own to be invalid (RFC 6749 §4.4).
 */
export const TOKEN_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
] as const;
export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];

export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly code: TokenErrorCode,
    readonly description: string,
    /** The client tried HTTP Basic: 401 with a Basic challenge (RFC 6749 §5.2). */
    readonly basicChallenge = false,
  ) {
    super(description);
  }
}

export const TokenErrorSchema = Type.Object(
  {
    error: StringEnum(TOKEN_ERROR_CODES),
    error_description: Type.String(),
  },
  { description: 'RFC 6749 §5.2 error response' },
);

/**
 * Error handler of the token endpoint: every client error, also a body Fastify refused, as RFC 6749
 * §5.2. A server error goes on to the gateway's handler, which logs it and answers a 500 problem.
 */
export function handleTokenError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const problem = error instanceof OAuthError ? undefined : toProblemError(error);
  // Server errors, and the anomaly guard's 429 with its Retry-After, leave as problem details.
  if (problem && (problem.status >= 500 || problem.status === 429)) {
    throw error;
  }
  const oauth = error instanceof OAuthError ? error : new OAuthError('invalid_request', describe(problem!));
  // A failed client authentication counts for the anomaly guard like a bad API key.
  request.credentialRefused = oauth.code === 'invalid_client';
  if (oauth.basicChallenge) {
    reply.code(401).header('www-authenticate', 'Basic realm="spx", charset="UTF-8"');
  } else {
    reply.code(400);
  }
  // RFC 6749 §5.1: no caching of token responses, errors included.
  return reply
    .header('pragma', 'no-cache')
    .type('application/json')
    .send({ error: oauth.code, error_description: oauth.description });
}

/** A refused body in one line: "The request body is invalid: / must have required property ...". */
function describe(problem: ProblemError): string {
  const detail = problem.detail ?? problem.title;
  const errors = (problem.errors ?? []).map((e) => `${e.pointer} ${e.detail}`);
  return errors.length > 0 ? `${detail}: ${errors.join('; ')}` : detail;
}
