import { sql, type Kysely, type Selectable } from 'kysely';
import type { ConsentTable, DB } from '#platform/db/types';
import type { ConsentChannel } from './purposes.ts';

/**
 * Consent records (migration 0030): one row per consent given, closed when it is withdrawn and kept.
 * The callers checked the person is within their scope; a person has at most one consent in force
 * per purpose (a unique index), which is what the DCI consent filter reads (dci/consent.ts).
 */

export type ConsentRow = Selectable<ConsentTable>;

/** How a consent or a withdrawal was obtained and recorded. */
export interface ConsentEvent {
  channel: ConsentChannel;
  evidenceRef?: string | undefined;
  /** The client that recorded it (its name, as change requests and status histories keep it); null: unknown. */
  recordedBy: string | null;
}

export interface NewConsent extends ConsentEvent {
  individualId: string;
  purpose: string;
  /** When the person consented; default now. */
  grantedAt?: Date | undefined;
}

/**
 * Records consents in the caller's transaction. A consent already in force for the same person and
 * purpose stays as it was and is not among the rows answered.
 */
export async function recordConsents(db: Kysely<DB>, consents: readonly NewConsent[]): Promise<ConsentRow[]> {
  if (consents.length === 0) {
    return [];
  }
  return db
    .insertInto('consents')
    .values(
      consents.map((c) => ({
        individual_id: c.individualId,
        purpose: c.purpose,
        channel: c.channel,
        evidence_ref: c.evidenceRef ?? null,
        recorded_by: c.recordedBy,
        ...(c.grantedAt ? { granted_at: c.grantedAt } : {}),
      })),
    )
    .onConflict((oc) =>
      oc.columns(['purpose', 'individual_id']).where('withdrawn_at', 'is', null).doNothing(),
    )
    .returningAll()
    .execute();
}

/** The person's consent to this purpose in force, if any. */
export function consentInForce(
  db: Kysely<DB>,
  individualId: string,
  purpose: string,
): Promise<ConsentRow | undefined> {
  return db
    .selectFrom('consents')
    .selectAll()
    .where('individual_id', '=', individualId)
    .where('purpose', '=', purpose)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
}

/** Closes the person's consent to this purpose in force; undefined when there is none. */
export function withdrawConsent(
  db: Kysely<DB>,
  individualId: string,
  purpose: string,
  withdrawal: ConsentEvent,
): Promise<ConsentRow | undefined> {
  return db
    .updateTable('consents')
    .set({
      withdrawn_at: sql<Date>`now()`,
      withdrawal_channel: withdrawal.channel,
      withdrawal_evidence_ref: withdrawal.evidenceRef ?? null,
      withdrawal_recorded_by: withdrawal.recordedBy,
    })
    .where('individual_id', '=', individualId)
    .where('purpose', '=', purpose)
    .where('withdrawn_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Every consent of a person, withdrawn ones included, newest first. */
export function listConsents(db: Kysely<DB>, individualId: string): Promise<ConsentRow[]> {
  return db
    .selectFrom('consents')
    .selectAll()
    .where('individual_id', '=', individualId)
    .orderBy('granted_at', 'desc')
    .orderBy('id')
    .execute();
}
