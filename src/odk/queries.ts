import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { FormRow } from './forms.ts';

/**
 * The queries of the ODK administration API (routes.ts), one query each: forms and their media,
 * submissions with what became of them, and their attachments.
 */

export const listForms = (db: Kysely<DB>): Promise<FormRow[]> =>
  db.selectFrom('odk_forms').selectAll().orderBy('form_id').orderBy('created_at', 'desc').execute();

/** Saves a media file of a form, replacing one of the same name. */
export async function saveFormMedia(
  db: Kysely<DB>,
  media: { formId: string; name: string; content: Buffer; hash: string; contentType: string },
): Promise<void> {
  const values = { content: media.content, hash: media.hash, content_type: media.contentType };
  await db
    .insertInto('odk_form_media')
    .values({ form_id: media.formId, name: media.name, ...values })
    .onConflict((oc) => oc.columns(['form_id', 'name']).doUpdateSet(values))
    .execute();
}

const submissions = (db: Kysely<DB>) =>
  db
    .selectFrom('odk_submissions as s')
    .leftJoin('change_requests as c', 'c.id', 's.change_request_id')
    .select([
      's.id',
      's.instance_id',
      's.form_id',
      's.form_version',
      's.source',
      's.submitted_by',
      's.received_at',
      's.status',
      's.errors',
      's.change_request_id',
      's.mapping_version',
      'c.status as change_status',
      'c.household_id',
    ]);

/** A submission with the status and household of the change request it became. */
export type SubmissionRow = Awaited<ReturnType<ReturnType<typeof submissions>['execute']>>[number];

export interface SubmissionFilter {
  status?: SubmissionRow['status'];
  formId?: string;
  householdId?: string;
  /** The (received_at, id) of the last submission of the page before. */
  after?: { at: Date; id: string };
  limit: number;
}

/** A page of submissions (`limit + 1` rows, for a keyset page), newest first. */
export function listSubmissions(db: Kysely<DB>, filter: SubmissionFilter): Promise<SubmissionRow[]> {
  const { status, formId, householdId, after } = filter;
  let query = submissions(db)
    .orderBy('s.received_at', 'desc')
    .orderBy('s.id', 'desc')
    .limit(filter.limit + 1);
  if (status) {
    query = query.where('s.status', '=', status);
  }
  if (formId) {
    query = query.where('s.form_id', '=', formId);
  }
  if (householdId) {
    query = query.where('c.household_id', '=', householdId);
  }
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('s.received_at', '<', after.at),
        eb.and([eb('s.received_at', '=', after.at), eb('s.id', '<', after.id)]),
      ]),
    );
  }
  return query.execute();
}

export const findSubmission = (db: Kysely<DB>, id: string): Promise<SubmissionRow | undefined> =>
  submissions(db).where('s.id', '=', id).executeTakeFirst();

/** The raw XML of a submission. */
export async function submissionXml(db: Kysely<DB>, id: string): Promise<string> {
  const { xml } = await db
    .selectFrom('odk_submissions')
    .select('xml')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return xml;
}

export interface AttachmentFacts {
  name: string;
  content_type: string;
  size: number;
}

/** The attachments of submissions (name, type, size; not their content), by submission id. */
export async function attachmentsOf(db: Kysely<DB>, ids: string[]): Promise<Map<string, AttachmentFacts[]>> {
  const byId = new Map<string, AttachmentFacts[]>();
  if (ids.length === 0) {
    return byId;
  }
  const rows = await db
    .selectFrom('odk_attachments')
    .select(['submission_id', 'name', 'content_type', 'size'])
    .where('submission_id', 'in', ids)
    .orderBy('name')
    .execute();
  for (const { submission_id, ...attachment } of rows) {
    byId.set(submission_id, [...(byId.get(submission_id) ?? []), attachment]);
  }
  return byId;
}

/** One attachment's content and media type. */
export const findAttachment = (db: Kysely<DB>, submissionId: string, name: string) =>
  db
    .selectFrom('odk_attachments')
    .select(['content', 'content_type'])
    .where('submission_id', '=', submissionId)
    .where('name', '=', name)
    .executeTakeFirst();
