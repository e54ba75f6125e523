import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError, type FieldError } from '#platform/problem';

interface AjvError {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Where in the request a validation error lies: a JSON pointer for bodies, a name otherwise. */
function pointerOf(error: AjvError, context: string | undefined): string {
  const extra = error.params['missingProperty'] ?? error.params['additionalProperty'];
  const path = `${error.instancePath}${extra === undefined ? '' : `/${String(extra)}`}`;
  if (context === 'body') {
    return path || '/';
  }
  return path.replace(/^\//, '') || (context ?? 'request');
}

function describe(error: AjvError): string {
  if (error.params['additionalProperty'] !== undefined) {
    return 'is not a known property';
  }
  if (Array.isArray(error.params['allowedValues'])) {
    return `must be one of: ${(error.params['allowedValues'] as unknown[]).join(', ')}`;
  }
  return error.message ?? 'is invalid';
}

/** Maps any error to an RFC 9457 problem; the client never sees a stack or an internal message. */
export function toProblemError(error: FastifyError | Error): ProblemError {
  if (error instanceof ProblemError) {
    return error;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const context = fastifyError.validationContext;
    const errors: FieldError[] = (fastifyError.validation as AjvError[]).map((e) => ({
      pointer: pointerOf(e, context),
      detail: describe(e),
    }));
    return new ProblemError(
      400,
      'validation',
      'Invalid request',
      `The request ${context ?? ''} is invalid`.replace('  ', ' '),
      errors,
    );
  }
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    // Fastify's own 4xx errors (bad JSON, body too large, unsupported media type) have safe messages.
    return new ProblemError(
      status,
      fastifyError.code?.toLowerCase() ?? 'client-error',
      'Bad request',
      fastifyError.message,
    );
  }
  return new ProblemError(
    500,
    'internal',
    'Internal error',
    'The request could not be completed; it has been logged.',
  );
}

/** The one error handler (STYLE habit 3). */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblemError(error);
  if (problem.status >= 500) {
    request.log.error({ err: error }, 'request failed');
  }
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type('application/problem+json')
    .send(problem.toProblem(request.url.split('?')[0], request.id));
}
