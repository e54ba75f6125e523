import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { PermanentJobError } from '#platform/jobs/queue';
import type { DciEncryption } from '../encryption/service.ts';
import { DciError } from '../errors.ts';
import type { DciSignatures } from '../signature/service.ts';
import {
  endDeliveryAttempt,
  FINAL_DELIVERY_STATUSES,
  logOutgoing,
  type AttemptResult,
  type DeliveryRow,
  type DeliveryStatus,
} from '../exchange/deliveries.ts';
import { resolveCallbackHost, type Resolve } from './address.ts';
import { checkTarget, findCallbackSettings, parseHttpUrl } from './policy.ts';
import { postJson } from '#platform/outbound/request';

/**
 * One attempt to deliver a callback message, as a readable list of steps: skip a finished delivery,
 * check the target against the client's settings as they are now (origin, then the addresses the
 * host resolves to), encrypt the message if it must be and sign the envelope (afresh on each
 * attempt: created/expires are of the attempt, the message id stays the same), POST, record the
 * outcome and log the attempt. A failed attempt throws so that
 * the job queue retries it (exponential backoff with jitter); the last one leaves the delivery dead.
 */

export interface DeliveryDeps {
  db: Kysely<DB>;
  resolve: Resolve;
  timeoutMs: number;
  /** Signs every envelope we send with our current key, writing it as JSON text. */
  signatures: Pick<DciSignatures, 'signedJson'>;
  /** Encrypts an envelope to the client when it must be (a DciError when it cannot: refused). */
  encryption: Pick<DciEncryption, 'seal'>;
}

export interface AttemptContext {
  attempt: number;
  /** No retry follows this attempt. */
  last: boolean;
  signal: AbortSignal;
  requestId?: string | undefined;
}

export type DeliveryOutcome = Extract<DeliveryStatus, 'delivered' | 'refused'> | 'already-finished';

export async function deliver(
  delivery: DeliveryRow,
  message: unknown,
  ctx: AttemptContext,
  deps: DeliveryDeps,
): Promise<DeliveryOutcome> {
  if ((FINAL_DELIVERY_STATUSES as string[]).includes(delivery.status)) {
    return 'already-finished'; // nothing is sent twice for the same message id
  }
  const url = parseHttpUrl(delivery.callback_uri)!;
  const started = performance.now();
  const record = async (result: AttemptResult, outcome: 'delivered' | 'failed' | 'refused') => {
    await endDeliveryAttempt(deps.db, delivery.id, result);
    await logOutgoing(deps.db, {
      clientId: delivery.client_id,
      exchangeId: delivery.exchange_id,
      deliveryId: delivery.id,
      peerOrigin: url.origin,
      action: delivery.action,
      messageId: delivery.message_id,
      attempt: ctx.attempt,
      outcome,
      statusCode: result.statusCode,
      durationMs: performance.now() - started,
      error: result.error,
      requestId: ctx.requestId,
    });
  };
  try {
    const statusCode = await postCallback(url, delivery.client_id, message, ctx.signal, deps);
    await record({ status: 'delivered', statusCode }, 'delivered');
    return 'delivered';
  } catch (error) {
    if (error instanceof DciError) {
      // The target fails the callback policy, or the client has no key to encrypt to: retrying
      // cannot help (an admin fixes the settings, then replays), and nothing was sent.
      await record({ status: 'refused', error: error.message }, 'refused');
      return 'refused';
    }
    const statusCode = error instanceof HttpStatusError ? error.statusCode : undefined;
    const reason = error instanceof Error ? error.message : String(error);
    await record({ status: ctx.last ? 'dead' : 'retrying', statusCode, error: reason }, 'failed');
    const failed = `${delivery.action} delivery attempt ${ctx.attempt} failed: ${reason}`;
    throw ctx.last ? new PermanentJobError(`${failed}; no retries left (dead)`) : new Error(failed);
  }
}

/**
 * Checks the target against the client's settings as they are now, then POSTs to the checked
 * address. Resolves with a 2xx status; throws a DciError (refused), or any other error (failed).
 */
export async function postCallback(
  url: URL,
  clientId: string,
  message: unknown,
  signal: AbortSignal,
  deps: DeliveryDeps,
): Promise<number> {
  const settings = await findCallbackSettings(deps.db, clientId);
  checkTarget(url, settings);
  const address = await resolveCallbackHost(url, settings.allowPrivateAddresses, deps.resolve);
  const sealed = await deps.encryption.seal(message, clientId);
  // Signed and written a slice at a time: an async search answer may hold 10,000 records.
  const body = (await deps.signatures.signedJson(sealed)) ?? JSON.stringify(sealed);
  const { statusCode } = await postJson(url, body, {
    address,
    timeoutMs: deps.timeoutMs,
    signal,
  });
  if (statusCode < 200 || statusCode > 299) {
    throw new HttpStatusError(statusCode);
  }
  return statusCode;
}

export class HttpStatusError extends Error {
  constructor(readonly statusCode: number) {
    super(`the callback answered HTTP ${statusCode}`);
  }
}
