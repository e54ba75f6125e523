import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { conflict, notFound } from '#platform/problem';
import type { AreaScope } from '#registry/scope';
import { applyChange, type ConsentOrigin } from './apply.ts';
import { findDuplicates } from './duplicates.ts';
import type { Issue, RegistryChange } from './model.ts';
import { validateChange } from './validate.ts';

/**
 * Change requests: every registration or update from the field passes validation (errors: rejected,
 * with the reasons) and duplicate checks (possible duplicates: held for a reviewer), then is applied
 * at once when its source says `auto`, or waits for a reviewer (`review`). Applying and recording
 * happen in one transaction, so a change is never half-written.
 */

export type ReviewMode = 'auto' | 'review';
export type ChangeStatus = 'applied' | 'pending_review' | 'rejected';

export interface ChangeOutcome {
  id: string;
  status: ChangeStatus;
  issues: Issue[];
  household_id: string | null;
}

export interface ChangeSource {
  /** Where it came from, e.g. `odk:uuid:…` (shown to reviewers). */
  source: string;
  createdBy: string;
  scope: AreaScope;
  reviewMode: ReviewMode;
  /** Runs in the change request's transaction once it is recorded (the source marks itself done). */
  recorded?: (trx: Transaction<DB>, outcome: ChangeOutcome) => Promise<void>;
}

const householdNumberOf = (changeId: string) => `CR-${changeId}`;

/**
 * Members' consents come with the change: change requests come from ODK submissions, and the
 * submission (`odk:<instanceID>`, with the respondent's signature) is their evidence.
 */
const consentOrigin = (source: string, submittedBy: string | null, submittedAt: Date): ConsentOrigin => ({
  channel: 'odk',
  evidenceRef: source,
  recordedBy: submittedBy,
  grantedAt: submittedAt,
});

export async function submitChange(
  db: Kysely<DB>,
  change: RegistryChange,
  from: ChangeSource,
): Promise<ChangeOutcome> {
  const checked = await validateChange(db, change, from.scope);
  const duplicates = checked.issues.length > 0 ? [] : await findDuplicates(db, checked, checked.area);
  const issues = [...checked.issues, ...duplicates];
  const status: ChangeStatus =
    checked.issues.length > 0
      ? 'rejected'
      : duplicates.length > 0 || from.reviewMode === 'review'
        ? 'pending_review'
        : 'applied';
  const id = randomUUID();
  return db.transaction().execute(async (trx) => {
    let householdId = change.household_id ?? null;
    if (status === 'applied') {
      householdId = await applyChange(trx, checked, {
        householdId: change.household_id,
        householdNumber: householdNumberOf(id),
        consent: change.consent === true,
        consentOrigin: consentOrigin(from.source, from.createdBy, new Date()),
      });
    }
    await trx
      .insertInto('change_requests')
      .values({
        id,
        kind: change.household_id ? 'update' : 'registration',
        source: from.source,
        household_id: checked.issues.length > 0 ? null : householdId,
        payload: JSON.stringify(change),
        issues: JSON.stringify(issues),
        status,
        created_by: from.createdBy,
        ...(status === 'pending_review' ? {} : { decided_by: 'automatic', decided_at: new Date() }),
        ...(status === 'rejected' ? { decision_reason: 'validation failed' } : {}),
      })
      .execute();
    const outcome = { id, status, issues, household_id: householdId };
    await from.recorded?.(trx, outcome);
    return outcome;
  });
}

/** A reviewer approves (applied now, if it still validates) or rejects a pending change request. */
export async function decideChange(
  db: Kysely<DB>,
  id: string,
  decision: 'approve' | 'reject',
  reason: string,
  principal: Principal,
): Promise<void> {
  const row = await db.selectFrom('change_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) {
    throw notFound('change request');
  }
  if (row.status !== 'pending_review') {
    throw conflict(`change request ${id} is ${row.status}, not pending review`);
  }
  const change = row.payload as RegistryChange;
  const checked = decision === 'approve' ? await validateChange(db, change, principal.areaScope) : undefined;
  if (checked && checked.issues.length > 0) {
    throw conflict(
      `change request ${id} no longer validates: ${checked.issues.map((i) => `${i.pointer} ${i.detail}`).join('; ')}`,
    );
  }
  await db.transaction().execute(async (trx) => {
    const householdId = checked
      ? await applyChange(trx, checked, {
          householdId: change.household_id,
          householdNumber: householdNumberOf(id),
          consent: change.consent === true,
          // Given when the form was filled in, recorded now that a reviewer approved it.
          consentOrigin: consentOrigin(row.source, row.created_by, row.created_at),
        })
      : row.household_id;
    const updated = await trx
      .updateTable('change_requests')
      .set({
        status: checked ? 'applied' : 'rejected',
        household_id: householdId,
        decided_by: principal.clientName,
        decided_at: new Date(),
        decision_reason: reason,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending_review')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      throw conflict(`change request ${id} was decided meanwhile`);
    }
  });
}
