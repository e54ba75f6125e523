import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, forbidden, notFound } from '#platform/problem';
import { submitChange } from '#registry/changes/service';
import type { AreaScope } from '#registry/scope';
import { currentMapping, findForm } from './forms.ts';
import { applyMapping } from './mapping.ts';
import { parseXml, type XmlError, type XmlNode } from './xform.ts';

/**
 * The submission pipeline, shared by ODK Collect (OpenRosa) and ODK Central pulls: a submission is
 * stored raw with its attachments first (one transaction), so nothing is lost whatever happens
 * next; then read through its form's current mapping into a change request (validated, checked for
 * duplicates, applied or queued for review). Its instanceID makes re-sending harmless: the same XML
 * again, from the same sender, only adds attachments not yet received (OpenRosa sends a large
 * submission in several requests), until it is read into a change request: from then on its
 * attachments are what the change request was made from, and stay as they are. Other XML under the
 * same instanceID, or the same XML from another sender, is refused.
 */

export interface Attachment {
  name: string;
  contentType: string;
  data: Buffer;
}

export interface IncomingSubmission {
  /** The instance XML, as the bytes received. */
  xml: Buffer;
  attachments: Attachment[];
  source: 'openrosa' | 'central';
  submittedBy: string;
  /** More attachments follow in another request (OpenRosa `*isIncomplete*`): process later. */
  incomplete?: boolean;
}

export interface Received {
  id: string;
  instanceId: string;
  /** false: this instanceID was already received (its new attachments, if any, were added). */
  created: boolean;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** The form id, version and instanceID a submission declares (400 when it does not). */
function headerOf(xml: string): { root: XmlNode; formId: string; version: string; instanceId: string } {
  let doc: XmlNode;
  try {
    doc = parseXml(xml);
  } catch (error) {
    throw badRequest(`the submission is not readable: ${(error as XmlError).message}`);
  }
  const rootName = Object.keys(doc).find((key) => !key.startsWith('?') && !key.startsWith('@_'));
  const root = (rootName ? doc[rootName] : undefined) as XmlNode | undefined;
  const formId = root?.['@_id'];
  const meta = root?.['meta'] as XmlNode | undefined;
  const instanceId = meta?.['instanceID'];
  if (typeof formId !== 'string' || !formId) {
    throw badRequest('the submission root element has no form id attribute');
  }
  if (typeof instanceId !== 'string' || !/^[A-Za-z0-9:._-]{1,100}$/.test(instanceId)) {
    throw badRequest('the submission has no meta/instanceID');
  }
  return { root: root, formId, version: String(root['@_version'] ?? ''), instanceId };
}

/**
 * The XML as text, and why it cannot be read as XML when its bytes are not UTF-8 without NUL (text
 * PostgreSQL can hold): the text then renders the bytes, every NUL and broken sequence as U+FFFD.
 */
function textOf(bytes: Buffer): { text: string; problem?: string } {
  const render = () => bytes.toString('utf8').replaceAll('\0', '\uFFFD');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { text: render(), problem: 'the submission is not UTF-8 text (UTF-16?): send it as UTF-8' };
  }
  if (text.includes('\0')) {
    return {
      text: render(),
      problem:
        'the submission holds NUL characters, which XML does not allow (UTF-16 text?): send it as UTF-8',
    };
  }
  return { text };
}

/** Stores a submission raw (or adds the attachments of a re-send); 404 for an unknown form. */
export async function storeSubmission(db: Kysely<DB>, incoming: IncomingSubmission): Promise<Received> {
  const { text, problem } = textOf(incoming.xml);
  let header;
  try {
    if (problem) {
      throw badRequest(problem);
    }
    header = headerOf(text);
  } catch (error) {
    await keepUnreadable(
      db,
      incoming,
      { text, raw: problem ? incoming.xml : null },
      (error as Error).message,
    );
    throw error;
  }
  const { formId, version, instanceId } = header;
  if (!(await findForm(db, formId, version))) {
    throw notFound(`form ${formId} version ${version || '(none)'}`);
  }
  const hash = sha256(incoming.xml);
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('odk_submissions')
      .select(['id', 'xml_sha256', 'source', 'submitted_by', 'status'])
      .where('instance_id', '=', instanceId)
      .forUpdate()
      .executeTakeFirst();
    if (existing) {
      await checkResend(trx, existing, incoming, hash);
    }
    const id = existing?.id ?? randomUUID();
    if (!existing) {
      await trx
        .insertInto('odk_submissions')
        .values({
          id,
          instance_id: instanceId,
          form_id: formId,
          form_version: version,
          source: incoming.source,
          xml: text,
          xml_sha256: hash,
          submitted_by: incoming.submittedBy,
          status: 'received',
        })
        .onConflict((oc) => oc.column('instance_id').doNothing())
        .execute();
    }
    if (incoming.attachments.length > 0) {
      await trx
        .insertInto('odk_attachments')
        .values(
          incoming.attachments.map((a) => ({
            submission_id: id,
            name: a.name,
            content_type: a.contentType,
            size: a.data.length,
            sha256: sha256(a.data),
            content: a.data,
          })),
        )
        .onConflict((oc) => oc.columns(['submission_id', 'name']).doNothing())
        .execute();
    }
    return { id, instanceId, created: !existing };
  });
}

/**
 * A submission received again is the same XML from the same sender (who else could add files to a
 * household outside their area?), and adds no file once it was read into a change request.
 */
async function checkResend(
  trx: Kysely<DB>,
  existing: { id: string; xml_sha256: string; source: string; submitted_by: string | null; status: string },
  incoming: IncomingSubmission,
  hash: string,
): Promise<void> {
  if (existing.source !== incoming.source || existing.submitted_by !== incoming.submittedBy) {
    throw forbidden(
      'a submission with this instanceID was sent by someone else: only they may send it again',
    );
  }
  if (existing.xml_sha256 !== hash) {
    throw conflict('a different submission with this instanceID was already received');
  }
  if (existing.status !== 'processed' || incoming.attachments.length === 0) {
    return;
  }
  const stored = await trx
    .selectFrom('odk_attachments')
    .select(['name', 'sha256'])
    .where('submission_id', '=', existing.id)
    .execute();
  const known = new Map(stored.map((file) => [file.name, file.sha256]));
  if (incoming.attachments.some((file) => known.get(file.name) !== sha256(file.data))) {
    throw conflict(
      'this submission was already read into a change request: its attachments can no longer change',
    );
  }
}

class ProcessedMeanwhile extends Error {}

/**
 * A submission that cannot even be read is kept as it came, failed, under its hash: its bytes too
 * when the text cannot hold them.
 */
async function keepUnreadable(
  db: Kysely<DB>,
  incoming: IncomingSubmission,
  { text, raw }: { text: string; raw: Buffer | null },
  reason: string,
): Promise<void> {
  const hash = sha256(incoming.xml);
  await db
    .insertInto('odk_submissions')
    .values({
      id: randomUUID(),
      instance_id: `sha256:${hash}`,
      form_id: '(unreadable)',
      form_version: '',
      source: incoming.source,
      xml: text,
      raw,
      xml_sha256: hash,
      submitted_by: incoming.submittedBy,
      status: 'failed',
      errors: JSON.stringify([reason]),
      processed_at: new Date(),
    })
    .onConflict((oc) => oc.column('instance_id').doNothing())
    .execute();
}

/**
 * Reads a stored submission into a change request, once: a submission already processed is left
 * alone. A failure to read it (no mapping, a mapping error) marks it failed with the reason; it
 * stays stored to be processed again.
 */
export async function processSubmission(db: Kysely<DB>, id: string, scope: AreaScope): Promise<void> {
  const row = await db
    .selectFrom('odk_submissions')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  if (row.status === 'processed') {
    return;
  }
  const fail = (reason: string) =>
    db
      .updateTable('odk_submissions')
      .set({ status: 'failed', errors: JSON.stringify([reason]), processed_at: new Date() })
      .where('id', '=', id)
      .execute();
  const mapping = await currentMapping(db, row.form_id);
  if (!mapping) {
    return void (await fail(`form ${row.form_id} has no mapping to registry fields yet`));
  }
  let change;
  try {
    change = applyMapping(mapping.mapping, headerOf(row.xml).root);
  } catch (error) {
    return void (await fail(`the submission could not be read: ${(error as Error).message}`));
  }
  await submitChange(db, change, {
    source: `odk:${row.instance_id}`,
    createdBy: row.submitted_by ?? row.source,
    scope,
    reviewMode: mapping.review_mode,
    // In the change request's transaction: a submission becomes one change request, even when
    // two processes race (the second finds it processed and rolls its change request back).
    recorded: async (trx, outcome) => {
      const marked = await trx
        .updateTable('odk_submissions')
        .set({
          status: 'processed',
          errors: JSON.stringify([]),
          mapping_version: mapping.version,
          change_request_id: outcome.id,
          processed_at: new Date(),
        })
        .where('id', '=', id)
        .where('status', '!=', 'processed')
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) {
        throw new ProcessedMeanwhile();
      }
    },
  }).catch((error: unknown) => {
    if (!(error instanceof ProcessedMeanwhile)) {
      throw error;
    }
  });
}
