import { sql, type Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import { credentialColumns, principalOfCredential, storedCredentialOf } from '#security/stored-credential';
import type { DB } from '#platform/db/types';
import { principalUnderPolicy } from '#security/policy/enforce';
import type { Receiver, RequestHeader } from '../envelope.ts';
import { DciError } from '../errors.ts';
import type { Registry } from '../spec.ts';
import { finishExchange, type ExchangeOperation, type NewExchange, type RecordExchange } from './store.ts';

/**
 * Receiving a DCI message: it is recorded under the client that sent it, and a message id the
 * client already used for an accepted message is refused (spec MsgHeaderStatusReasonCode
 * `rjct.message_id.duplicate`).
 */

export interface Incoming {
  registry: Registry;
  operation: ExchangeOperation;
  mode: 'sync' | 'async';
  header: RequestHeader;
  transactionId: string;
  referenceIds?: string[];
  summary: Record<string, unknown>;
  principal: Principal;
  requestId: string;
  receiver: Receiver;
}

export interface Received {
  id: string;
  correlationId: string;
}

/** The extra columns of an async message, of one refused as a whole, or of a sync one already answered. */
type Extra = Pick<NewExchange, 'status' | 'reason' | 'request' | 'callbackUri' | 'response'>;

/** Records the message; undefined when its message id was already accepted from this client. */
export async function receive(
  record: RecordExchange,
  incoming: Incoming,
  extra: Extra = { status: 'rcvd' },
  correlationId = incoming.receiver.newId(),
): Promise<Received | undefined> {
  const id = incoming.receiver.newId();
  const inserted = await record({
    id,
    clientId: incoming.principal.clientId,
    credential: credentialColumns(incoming.principal),
    registry: incoming.registry,
    operation: incoming.operation,
    mode: incoming.mode,
    messageId: incoming.header.message_id,
    // Optional in the callback-style header of IBR enrollment/updates.
    senderId: incoming.header.sender_id ?? '',
    transactionId: incoming.transactionId,
    correlationId,
    referenceIds: incoming.referenceIds ?? [],
    summary: incoming.summary,
    requestId: incoming.requestId,
    ...extra,
  });
  return inserted ? { id, correlationId } : undefined;
}

/**
 * Runs the answer to a received sync message. Should it fail (a server error), the message is
 * marked rejected, so that the client may send it again with the same message id.
 */
export async function answering<T>(db: Kysely<DB>, received: Received, answer: () => Promise<T>): Promise<T> {
  try {
    return await answer();
  } catch (error) {
    await finishExchange(db, received.id, { status: 'rjct', reason: { message: 'the answer failed' } });
    throw error;
  }
}

export const duplicateReason = (messageId: string) => ({
  code: 'rjct.message_id.duplicate' as const,
  message: `message_id ${clip(messageId)} was already received from this client`,
});

/**
 * A duplicate as an error, for answers without a DCI header to carry it (ACKs, IBR bare responses):
 * the code leads the message, since those bodies only hold err.* codes. HTTP 409.
 */
export function duplicateMessage(messageId: string): DciError {
  const { code, message } = duplicateReason(messageId);
  return new DciError(code, `${code}: ${message}`, undefined, 409);
}

const clip = (s: string) => (s.length > 100 ? `${s.slice(0, 100)}...` : s);

/** The stored credential of a message or subscription row (key_id, auth_method, scopes). */
type CredentialRow = Parameters<typeof storedCredentialOf>[0];

/**
 * The principal an async message is answered for: its sender, as it stands now, under its data
 * sharing agreement (fields, areas, purposes), with no more than the scopes it held when it sent the
 * message. A client disabled, a credential (API key, OAuth credential, client certificate) revoked or
 * expired, or an agreement expired, since the message was accepted gets no answer.
 */
export async function principalOf(db: Kysely<DB>, row: CredentialRow): Promise<Principal | undefined> {
  const stored = storedCredentialOf(row);
  const principal = stored && (await principalOfCredential(db, stored));
  return principal && principalUnderPolicy(db, principal);
}

/**
 * The principal a subscription is served for: the credential that subscribed while it is usable;
 * after it was revoked or expired (keys are rotated), another usable API key of the same client that
 * may read the registry, the newest first. A disabled client, or one without such a key, is served
 * nothing.
 */
export async function subscriberOf(
  db: Kysely<DB>,
  subscription: CredentialRow,
): Promise<Principal | undefined> {
  const original = await principalOf(db, subscription);
  if (original) {
    return original;
  }
  const keys = await db
    .selectFrom('api_keys')
    .select('id')
    .where('client_id', '=', subscription.client_id)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .where(sql<boolean>`'registry:read' = any(scopes)`)
    .orderBy('created_at', 'desc')
    .limit(1)
    .execute();
  const replacement = { client_id: subscription.client_id, auth_method: 'api_key', scopes: null };
  return keys[0] ? principalOf(db, { ...replacement, key_id: keys[0].id }) : undefined;
}
