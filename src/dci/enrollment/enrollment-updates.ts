import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { readEnvelope, type Receiver, type RequestHeader } from '../envelope.ts';
import { DciError } from '../errors.ts';
import { loadRecords } from '../load.ts';
import type { SearchLimits } from '../query/criteria.ts';
import { timestamp as timestampValue } from '../query/values.ts';
import type { DciRecord } from '../records.ts';
import { validateRequest } from '../spec.ts';
import { changedEnrollments } from './queries.ts';

/**
 * IBR `/registry/sync/enrollment/updates` both ways. As the spec describes it, a programme system
 * reports beneficiaries (`enrolled_updates.beneficiaries`: enrollment-push.ts). As the DCI issue
 * asks, it also answers the enrollment changes since a time; the spec's messages have no field for a
 * time or for the changed records, so, within the spec's schemas (which allow extra properties):
 * - request `enrolled_updates: { since, cursor?, page_size? }`;
 * - response the bare `EnrollmentUpdatesResponse` (the spec's default response, no envelope), one
 *   `enrolled_response` item per changed enrollment (reference_id = enrollment id, timestamp = when it
 *   changed), and `enrolled_updates: { beneficiaries, next_cursor? }`: the IBR Beneficiary records,
 *   in the same order, through the field policy, as the spec's own `enrolled_updates` carries them.
 */

export const SYNC_ENROLLMENT_UPDATES = '/registry/sync/enrollment/updates';

interface UpdatesRequestMessage {
  transaction_id: string;
  enrolled_updates: { since?: unknown; cursor?: unknown; page_size?: unknown; beneficiaries?: unknown };
}

/** A programme system reporting beneficiaries (the spec's direction: see enrollment-push.ts). */
export interface ParsedPush {
  kind: 'push';
  header: RequestHeader;
  transactionId: string;
  beneficiaries: unknown[];
}

export interface ParsedUpdates {
  kind: 'changes';
  header: RequestHeader;
  transactionId: string;
  since: string;
  /** The change_seq position a previous page ended at. */
  cursor?: number | undefined;
  pageSize: number;
}

const AT = '/message/enrolled_updates';
const badField = (field: string, detail: string) =>
  new DciError('err.request.bad', `enrolled_updates.${field} ${detail}`, [
    { pointer: `${AT}/${field}`, detail },
  ]);

export function parseUpdates(
  body: unknown,
  receiver: Receiver,
  limits: SearchLimits,
): ParsedUpdates | ParsedPush {
  const operation = { registry: 'ibr' as const, path: SYNC_ENROLLMENT_UPDATES };
  const { header, message } = readEnvelope<UpdatesRequestMessage>(
    body,
    validateRequest(operation, body),
    'enrolled_updates',
    receiver,
  );
  const asked = message.enrolled_updates;
  if (asked.beneficiaries !== undefined) {
    const list = asked.beneficiaries;
    if (!Array.isArray(list) || list.length === 0 || list.length > limits.maxPageSize) {
      throw badField('beneficiaries', `must be a list of 1 to ${limits.maxPageSize} beneficiaries`);
    }
    return { kind: 'push', header, transactionId: message.transaction_id, beneficiaries: list };
  }
  const since = timestampValue.read(asked.since);
  if (typeof since !== 'string') {
    throw badField('since', 'must be an ISO 8601 date-time (changes after it are answered)');
  }
  const cursor = asked.cursor;
  if (cursor !== undefined && !(typeof cursor === 'string' && /^\d{1,15}$/.test(cursor))) {
    throw badField('cursor', 'must be the next_cursor of a previous answer');
  }
  const size = asked.page_size ?? limits.defaultPageSize;
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > limits.maxPageSize) {
    throw badField('page_size', `must be an integer from 1 to ${limits.maxPageSize}`);
  }
  return {
    kind: 'changes',
    header,
    transactionId: message.transaction_id,
    since,
    cursor: cursor === undefined ? undefined : Number(cursor),
    pageSize: size as number,
  };
}

export interface UpdatesResponse {
  transaction_id: string;
  correlation_id: string;
  enrolled_response: { reference_id: string; timestamp: string; status: 'succ' }[];
  enrolled_updates: { beneficiaries: DciRecord[]; next_cursor?: string };
}

export async function answerUpdates(
  parsed: ParsedUpdates,
  ctx: { db: Kysely<DB>; principal: Principal; correlationId: string },
): Promise<{ body: UpdatesResponse; recordCount: number }> {
  const rows = await changedEnrollments(
    ctx.db,
    parsed.since,
    parsed.cursor,
    parsed.pageSize + 1,
    ctx.principal.areaScope,
  );
  const page = rows.slice(0, parsed.pageSize);
  const beneficiaries = await loadRecords(
    ctx.db,
    'Beneficiary',
    page.map((row) => row.id),
    ctx.principal,
  );
  const last = page.at(-1);
  return {
    body: {
      transaction_id: parsed.transactionId,
      correlation_id: ctx.correlationId,
      enrolled_response: page.map((row) => ({
        reference_id: row.id,
        timestamp: row.updated_at.toISOString(),
        status: 'succ',
      })),
      enrolled_updates: {
        beneficiaries,
        ...(rows.length > parsed.pageSize && last ? { next_cursor: String(last.change_seq) } : {}),
      },
    },
    recordCount: beneficiaries.length,
  };
}
