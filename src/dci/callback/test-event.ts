import { DciError } from '../errors.ts';
import type { Envelope, Receiver, ResponseHeader } from '../envelope.ts';
import { logOutgoing } from '../exchange/deliveries.ts';
import { notifyHeader } from '../subscriptions/messages.ts';
import { HttpStatusError, postCallback, type DeliveryDeps } from './deliver.ts';
import { callbackTarget, type CallbackSettings } from './policy.ts';

/**
 * "Send a test event": one signed `/registry/notify` to a client's registered callback URI, through
 * the same steps as every callback (origin check, DNS check against private addresses, encryption
 * when the client asks for it, signature), sent once and not retried, so that an integrator can see
 * at once whether its endpoint is reachable and accepts our messages. The message holds no event
 * (`notify_event: []`, valid by the spec) and so no personal data. The attempt is in the exchange log.
 */

export interface TestEventDeps extends DeliveryDeps {
  receiver: Receiver;
}

export interface TestEventResult {
  url: string;
  message_id: string;
  outcome: 'delivered' | 'failed' | 'refused';
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

export const TEST_EVENT_PATH = '/registry/notify';

export function testEnvelope(
  messageId: string,
  receiver: Receiver,
  clientName: string,
): Envelope<ResponseHeader, unknown> {
  return {
    header: { ...notifyHeader(messageId, receiver, clientName), total_count: 0, completed_count: 0 },
    message: { transaction_id: receiver.newId(), notify_event: [] },
  };
}

/** Sends the test event to `settings.callbackUri` (the caller checks that one is registered). */
export async function sendTestEvent(
  client: { id: string; name: string },
  settings: CallbackSettings & { callbackUri: string },
  deps: TestEventDeps,
  requestId: string,
): Promise<TestEventResult> {
  const messageId = deps.receiver.newId();
  const started = performance.now();
  const target = `${settings.callbackUri}${TEST_EVENT_PATH}`;
  const result = await attempt(client, settings, messageId, deps);
  const durationMs = Math.round(performance.now() - started);
  await logOutgoing(deps.db, {
    clientId: client.id,
    exchangeId: undefined,
    deliveryId: undefined,
    peerOrigin: new URL(target).origin,
    action: 'notify',
    messageId,
    attempt: 1,
    outcome: result.outcome,
    statusCode: result.statusCode,
    durationMs,
    error: result.error,
    requestId,
  });
  return {
    url: target,
    message_id: messageId,
    outcome: result.outcome,
    status_code: result.statusCode ?? null,
    duration_ms: durationMs,
    error: result.error ?? null,
  };
}

async function attempt(
  client: { id: string; name: string },
  settings: CallbackSettings,
  messageId: string,
  deps: TestEventDeps,
): Promise<{ outcome: TestEventResult['outcome']; statusCode?: number; error?: string }> {
  try {
    const url = callbackTarget(settings, undefined, TEST_EVENT_PATH);
    const envelope = testEnvelope(messageId, deps.receiver, client.name);
    const statusCode = await postCallback(
      url,
      client.id,
      envelope,
      AbortSignal.timeout(deps.timeoutMs),
      deps,
    );
    return { outcome: 'delivered', statusCode };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof DciError) {
      return { outcome: 'refused', error: reason }; // the callback policy: nothing was sent
    }
    const statusCode = error instanceof HttpStatusError ? error.statusCode : undefined;
    return { outcome: 'failed', ...(statusCode === undefined ? {} : { statusCode }), error: reason };
  }
}
