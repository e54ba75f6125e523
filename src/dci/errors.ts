import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toProblemError } from '#platform/http/errors';
import { ProblemError, type FieldError } from '#platform/problem';
import {
  DciMessageError,
  type DciCode,
  type SearchReasonCode,
  type TransportErrorCode,
} from '@spx/dci-client';

/**
 * DCI errors of the gateway. The code lists themselves (the spec's enums) live in the DCI client package,
 * shared with integrators; test/dci/spec.test.ts asserts that they equal the spec's enums.
 */
export {
  HEADER_REASON_CODES,
  SEARCH_REASON_CODES,
  SUBSCRIBE_REASON_CODES,
  TRANSPORT_ERROR_CODES,
  UNSUBSCRIBE_REASON_CODES,
  type DciCode,
  type DciStatus,
  type HeaderReasonCode,
  type SearchReasonCode,
  type SubscribeReasonCode,
  type TransportErrorCode,
  type UnsubscribeReasonCode,
} from '@spx/dci-client';

const TRANSPORT_STATUS: Record<TransportErrorCode, number> = {
  'err.request.bad': 400,
  'err.request.unauthorized': 401,
  'err.request.forbidden': 403,
  'err.request.not_found': 404,
  'err.request.timeout': 408,
  'err.version.not_supported': 400,
  'err.request.too_many_requests': 429,
  'err.sender_id.invalid': 400,
  'err.sender_uri.invalid': 400,
  'err.receiver_id.invalid': 400,
  'err.signature.missing': 401,
  'err.signature.invalid': 401,
  'err.encryption.invalid': 400,
  'err.service.unavailable': 503,
};

const isTransport = (code: DciCode): code is TransportErrorCode => code.startsWith('err.');

/**
 * The gateway's one error type (ProblemError) carrying a DCI code. Transport codes (`err.*`) become
 * the spec's HttpErrorResponse; `rjct.*` codes become a status inside the DCI envelope (an item's
 * or the header's) and never leave the core as HTTP errors. Should one escape, it is still a 400.
 */
export class DciError extends ProblemError {
  override name = 'DciError';
  constructor(
    readonly code: DciCode,
    message: string,
    errors?: FieldError[],
    /** The HTTP status, when the code's own does not say it (409 for a duplicate message id). */
    status?: number,
  ) {
    super(status ?? (isTransport(code) ? TRANSPORT_STATUS[code] : 400), `dci/${code}`, code, message, errors);
  }
}

export const searchRejection = (code: SearchReasonCode, message: string) => new DciError(code, message);

/** Rethrows a failed check of the DCI client package (signature, encryption) as the gateway's DciError. */
export function asDciError(error: unknown): never {
  throw error instanceof DciMessageError ? new DciError(error.code, error.message) : error;
}

/** Reason and error messages of the spec (`status_reason_message`, `Error.message`) have maxLength 999. */
export const clipMessage = (message: string) =>
  message.length > 999 ? `${message.slice(0, 996)}...` : message;

/**
 * The spec's `HttpErrorResponse` body: `{ errors: [{ code, message }] }`, one entry per field error.
 * Declared for the serializer and OpenAPI; test/dci checks it against the spec's own schema.
 */
export const HttpErrorSchema = Type.Object(
  { errors: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })) },
  { description: 'DCI HttpErrorResponse' },
);
export type HttpErrorBody = Static<typeof HttpErrorSchema>;

/** The DCI transport code for an HTTP status (errors raised outside the DCI core: auth, body limit). */
function codeForStatus(status: number): TransportErrorCode {
  const byStatus: Record<number, TransportErrorCode> = {
    401: 'err.request.unauthorized',
    403: 'err.request.forbidden',
    404: 'err.request.not_found',
    408: 'err.request.timeout',
    429: 'err.request.too_many_requests',
  };
  return byStatus[status] ?? (status >= 500 ? 'err.service.unavailable' : 'err.request.bad');
}

/** Maps any error to an HTTP status and the spec's HttpErrorResponse body (never a stack). */
export function toHttpError(error: Error): {
  status: number;
  headers: Record<string, string>;
  body: HttpErrorBody;
} {
  const problem = toProblemError(error);
  const code =
    error instanceof DciError && isTransport(error.code) ? error.code : codeForStatus(problem.status);
  const message = problem.detail ?? problem.title;
  const details = problem.errors ?? [];
  const errors = details.length
    ? details.map((e) => ({ code, message: `${e.pointer}: ${e.detail}` }))
    : [{ code, message }];
  return { status: problem.status, headers: problem.headers, body: { errors } };
}

/** Error handler of the DCI routes: the spec's HttpErrorResponse instead of RFC 9457 problems. */
export function handleDciError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const { status, headers, body } = toHttpError(error);
  if (status >= 500) {
    request.log.error({ err: error }, 'DCI request failed');
  }
  return reply.code(status).headers(headers).type('application/json').send(body);
}
