import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { timestamp, type Receiver } from '../envelope.ts';
import { clipMessage, DciError, handleDciError, toHttpError, type TransportErrorCode } from '../errors.ts';

/**
 * The answer of an async endpoint (spec `components.responses.Response`): `ACK` with the correlation
 * id that the callback will carry, or `ERR` with one of the spec's `Error` codes when the message
 * cannot be processed. Authentication failures and server errors keep the spec's HttpErrorResponse
 * (401, 403, 500 of every async path); a message refused for its signature (err.signature.*, HTTP
 * 401 too) was read, and is answered with an ERR ack ("Acknowledgement of message received after
 * successful validation of message and signature": its error codes include the signature's).
 */

export interface Ack {
  message: {
    ack_status: 'ACK' | 'ERR';
    timestamp: string;
    correlation_id: string;
    error?: { code: TransportErrorCode; message: string };
  };
}

export const ack = (receiver: Receiver, correlationId: string): Ack => ({
  message: { ack_status: 'ACK', timestamp: timestamp(receiver), correlation_id: correlationId },
});

/** Error handler of the async routes: ERR acknowledgements for 4xx other than 401 and 403. */
export function ackErrorHandler(receiver: Receiver) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, headers, body } = toHttpError(error);
    const signature = error instanceof DciError && error.code.startsWith('err.signature.');
    if (!signature && (status === 401 || status === 403 || status >= 500)) {
      return handleDciError(error, request, reply);
    }
    const answer: Ack = {
      message: {
        ack_status: 'ERR',
        timestamp: timestamp(receiver),
        correlation_id: receiver.newId(),
        error: {
          code: body.errors[0]!.code as TransportErrorCode,
          message: clipMessage(body.errors.map((e) => e.message).join('; ')),
        },
      },
    };
    return reply.code(status).headers(headers).type('application/json').send(answer);
  };
}
