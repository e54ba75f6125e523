import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { JobQueue } from '#platform/jobs/queue';
import { callbackTarget, findCallbackSettings } from '../callback/policy.ts';
import { DciError } from '../errors.ts';
import { duplicateMessage, receive, type Incoming } from '../exchange/receive.ts';
import { finishExchange, type RecordExchange } from '../exchange/store.ts';
import { ack, type Ack } from './ack.ts';

/**
 * Accepting an async DCI request, after its message was validated: check where the answer will go,
 * record the message with the request it must answer, queue the job that answers it, and
 * acknowledge. Every refusal happens before anything is queued.
 */

export interface AsyncRequest extends Incoming {
  /** The message to answer later (it holds query values; cleared once answered). */
  body: unknown;
  /** Where the answer goes when the client registered a base URI instead of sending sender_uri. */
  callbackPath: string;
  /** The job kind that answers it (defined by dciJobKinds). */
  job: string;
}

export async function acceptAsync(
  { db, jobs, recordExchange }: { db: Kysely<DB>; jobs: JobQueue; recordExchange: RecordExchange },
  request: AsyncRequest,
): Promise<Ack> {
  const settings = await findCallbackSettings(db, request.principal.clientId);
  const target = await targetOrRefuse(recordExchange, request, () =>
    callbackTarget(settings, request.header.sender_uri, request.callbackPath),
  );
  const received = await receive(recordExchange, request, {
    status: 'pdng',
    request: request.body,
    callbackUri: target.href,
  });
  if (!received) {
    throw duplicateMessage(request.header.message_id);
  }
  try {
    await jobs.enqueue(
      request.job,
      { exchangeId: received.id },
      { requestId: request.requestId, createdBy: request.principal.clientId },
    );
  } catch (error) {
    await finishExchange(db, received.id, {
      status: 'rjct',
      reason: { message: 'the request could not be queued' },
    });
    throw error;
  }
  return ack(request.receiver, received.correlationId);
}

/**
 * The callback URL, or the refusal: a message refused for its callback target is recorded as
 * rejected, with the reason (and may be sent again, fixed, with the same message id).
 */
async function targetOrRefuse(
  recordExchange: RecordExchange,
  request: AsyncRequest,
  target: () => URL,
): Promise<URL> {
  try {
    return target();
  } catch (error) {
    if (error instanceof DciError) {
      await receive(recordExchange, request, {
        status: 'rjct',
        reason: { code: error.code, message: error.message },
      });
    }
    throw error;
  }
}
