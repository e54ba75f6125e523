import { Type, type Static } from '@sinclair/typebox';

/** RFC 9457 problem details, with field-level `errors` for bad input. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI reference identifying the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({
            description: 'JSON pointer (body) or parameter name (query, path, header)',
          }),
          detail: Type.String(),
        }),
      ),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof ProblemSchema>;
export type FieldError = NonNullable<Problem['errors']>[number];

const PROBLEM_BASE = 'https://spx.dev/problems/';

/** The one error type of the gateway: it carries the RFC 9457 body the client receives. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  toProblem(instance?: string, requestId?: string): Problem {
    return {
      type: PROBLEM_BASE + this.slug,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(requestId ? { request_id: requestId } : {}),
      ...(this.errors?.length ? { errors: this.errors } : {}),
    };
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new ProblemError(400, 'bad-request', 'Bad request', detail, errors);

/** 401; `challenge` is the WWW-Authenticate value (default: either kind of credential is welcome). */
export const unauthorized = (detail: string, challenge = 'ApiKey realm="spx", Bearer realm="spx"') =>
  new ProblemError(401, 'unauthorized', 'Unauthorized', detail, undefined, {
    'www-authenticate': challenge,
  });

export const forbidden = (detail: string) => new ProblemError(403, 'forbidden', 'Forbidden', detail);

export const notFound = (what = 'resource') =>
  new ProblemError(404, 'not-found', 'Not found', `No such ${what}`);

export const conflict = (detail: string) => new ProblemError(409, 'conflict', 'Conflict', detail);

/** 422: the request is well-formed but cannot be carried out on this data (RFC 9110 §15.5.21). */
export const unprocessable = (detail: string) =>
  new ProblemError(422, 'unprocessable', 'Unprocessable content', detail);

export const tooLarge = (detail: string) =>
  new ProblemError(413, 'payload-too-large', 'Payload too large', detail);

/** 429 with Retry-After in whole seconds (RFC 9110 §10.2.3); DCI routes answer err.request.too_many_requests. */
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new ProblemError(429, 'too-many-requests', 'Too many requests', detail, undefined, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });

export const unavailable = (detail: string) =>
  new ProblemError(503, 'unavailable', 'Service unavailable', detail);
