import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { rawResponse } from '#platform/http/openapi';
import { badRequest, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { keyset, Keys, Page, PageQuery } from '#platform/http/pagination';
import { accessTo, principalOf, problems, StringEnum } from '#platform/http/kit';
import { Nullable } from '#registry/schemas';
import { currentMapping, findForm, saveForm, saveMapping } from './forms.ts';
import { md5Hash } from './xform.ts';
import {
  attachmentsOf,
  findAttachment,
  findSubmission,
  listForms,
  listSubmissions,
  saveFormMedia,
  submissionXml,
  type AttachmentFacts,
  type SubmissionRow,
} from './queries.ts';
import { processSubmission } from './submissions.ts';

/** The cursors of the submission list, in order of arrival. */
const submissions = keyset('odk.submissions', Keys.timeAndId);

/**
 * Administration of field data collection: upload XForms, their media files and mappings
 * (`clients:manage`), and follow submissions (`registry:write`: they hold personal data as
 * collected): status, errors, the change request each became, attachments, processing again.
 */

const FormId = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });
const MediaName = Type.String({ pattern: '^[\\w.-]{1,200}$' });
const manage = accessTo('clients:manage', 'odk_form');
const review = accessTo('registry:write', 'odk_submission');

const FormSchema = Type.Object({
  form_id: Type.String(),
  version: Type.String(),
  title: Type.String(),
  hash: Type.String(),
  active: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});
const MappingView = Type.Object({
  form_id: Type.String(),
  version: Type.Integer(),
  review_mode: StringEnum(['auto', 'review']),
  mapping: Type.Unknown(),
  created_at: Type.String({ format: 'date-time' }),
});
const SubmissionSchema = Type.Object({
  id: Type.String(),
  instance_id: Type.String(),
  form_id: Type.String(),
  form_version: Type.String(),
  source: Type.String(),
  submitted_by: Nullable(Type.String()),
  received_at: Type.String({ format: 'date-time' }),
  status: StringEnum(['received', 'failed', 'applied', 'pending_review', 'rejected'], {
    description: 'received or failed (not read into a change request), else the status of its change request',
  }),
  errors: Type.Array(Type.String()),
  change_request_id: Nullable(Type.String()),
  household_id: Nullable(Type.String()),
  mapping_version: Nullable(Type.Integer()),
  attachments: Type.Array(
    Type.Object({ name: Type.String(), content_type: Type.String(), size: Type.Integer() }),
  ),
});

const submissionView = (row: SubmissionRow, attachments: AttachmentFacts[]) => ({
  id: row.id,
  instance_id: row.instance_id,
  form_id: row.form_id,
  form_version: row.form_version,
  source: row.source,
  submitted_by: row.submitted_by,
  received_at: row.received_at.toISOString(),
  status: row.status === 'processed' ? (row.change_status ?? 'received') : row.status,
  errors: row.errors as string[],
  change_request_id: row.change_request_id,
  household_id: row.household_id ?? null,
  mapping_version: row.mapping_version,
  attachments,
});

export async function odkAdminRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.addContentTypeParser(
    ['application/xml', 'text/xml'],
    { parseAs: 'string', bodyLimit: 5 * 1024 * 1024 },
    (_request, body, done) => done(null, body),
  );
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: 20 * 1024 * 1024 },
    (_request, body, done) => done(null, body),
  );

  formRoutes(app, db);
  submissionRoutes(app, db);
}

/** Forms, their mappings and media files (`clients:manage`). */
function formRoutes(app: App, db: Kysely<DB>): void {
  app.post(
    '/odk/forms',
    {
      config: manage('odk.form.upload'),
      schema: {
        tags: ['odk'],
        operationId: 'uploadOdkForm',
        summary: 'Upload an XForm (XML body): a new form, or a new version of one',
        description:
          'The form is checked as ODK does (a primary instance whose root has an id, meta/instanceID bound to jr:preload="uid", ' +
          'binds and controls naming existing nodes). The same XML again answers 200; other content under an existing version 409.',
        consumes: ['application/xml', 'text/xml'],
        body: Type.String({ minLength: 1 }),
        response: { 200: FormSchema, 201: FormSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { facts, created } = await saveForm(db, request.body, principalOf(request).clientName);
      const form = (await findForm(db, facts.formId, facts.version))!;
      request.auditNote = { resourceId: `${facts.formId}@${facts.version}`, recordCount: 1 };
      return reply.code(created ? 201 : 200).send(formView(form));
    },
  );

  app.get(
    '/odk/forms',
    {
      config: manage('odk.form.list'),
      schema: {
        tags: ['odk'],
        operationId: 'listOdkForms',
        summary: 'Every form version, newest first',
        response: { 200: Type.Object({ items: Type.Array(FormSchema) }) },
      },
    },
    async (request) => {
      const rows = await listForms(db);
      request.auditNote = { recordCount: rows.length };
      return { items: rows.map(formView) };
    },
  );

  app.put(
    '/odk/forms/:formId/mapping',
    {
      config: manage('odk.mapping.save'),
      schema: {
        tags: ['odk'],
        operationId: 'setOdkFormMapping',
        summary: "Save a new version of a form's mapping to registry fields (docs/odk.md)",
        params: Type.Object({ formId: FormId }),
        body: Type.Object(
          {
            mapping: Type.Unknown({
              description: 'household, members (repeat, fields, identifiers), consent, household_id',
            }),
            review_mode: StringEnum(['auto', 'review'], {
              description:
                'auto: clean change requests are applied at once; review: every one waits for a reviewer',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: MappingView, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { formId } = request.params;
      const row = await saveMapping(
        db,
        formId,
        request.body.mapping,
        request.body.review_mode,
        principalOf(request).clientName,
      );
      request.auditNote = { resourceId: formId, recordCount: 1 };
      return reply.code(201).send({ ...row, created_at: row.created_at.toISOString() });
    },
  );

  app.get(
    '/odk/forms/:formId/mapping',
    {
      config: manage('odk.mapping.read'),
      schema: {
        tags: ['odk'],
        operationId: 'getOdkFormMapping',
        summary: "A form's current mapping",
        params: Type.Object({ formId: FormId }),
        response: { 200: MappingView, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const row = await currentMapping(db, request.params.formId);
      if (!row) {
        throw notFound(`mapping of form ${request.params.formId}`);
      }
      request.auditNote = { resourceId: request.params.formId, recordCount: 1 };
      return { ...row, created_at: row.created_at.toISOString() };
    },
  );

  app.put(
    '/odk/forms/:formId/media/:name',
    {
      config: manage('odk.media.upload'),
      schema: {
        tags: ['odk'],
        operationId: 'uploadOdkFormMedia',
        summary: 'Upload a media file the form refers to (image, CSV for choices); listed in its manifest',
        consumes: ['application/octet-stream'],
        params: Type.Object({ formId: FormId, name: MediaName }),
        response: { 204: Type.Null(), ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { formId, name } = request.params;
      const content = request.body as Buffer;
      if (!Buffer.isBuffer(content) || content.length === 0) {
        throw badRequest('send the file as the body, content-type application/octet-stream');
      }
      if (!(await findForm(db, formId))) {
        throw notFound(`form ${formId}`);
      }
      await saveFormMedia(db, {
        formId,
        name,
        content,
        hash: md5Hash(content),
        contentType: contentTypeOf(name),
      });
      request.auditNote = { resourceId: `${formId}/${name}`, recordCount: 1 };
      return reply.code(204).send(null);
    },
  );
}

/** Submissions, what became of them, their attachments; processing again (`registry:write`). */
function submissionRoutes(app: App, db: Kysely<DB>): void {
  app.get(
    '/odk/submissions',
    {
      config: review('odk.submission.list'),
      schema: {
        tags: ['odk'],
        operationId: 'listOdkSubmissions',
        summary: 'Submissions received, newest first, with what became of each',
        querystring: Type.Object(
          {
            status: Type.Optional(StringEnum(['received', 'failed', 'processed'])),
            form_id: Type.Optional(FormId),
            household_id: Type.Optional(
              Type.String({
                format: 'uuid',
                description: 'The submissions that registered or changed this household',
              }),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(SubmissionSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { status, form_id, household_id, limit = 50, cursor } = request.query;
      const rows = await listSubmissions(db, {
        status,
        formId: form_id,
        householdId: household_id,
        after: submissions.after(cursor),
        limit,
      });
      const page = submissions.page(rows, limit, (row) => ({
        at: row.received_at,
        id: row.id,
      }));
      const attachments = await attachmentsOf(
        db,
        page.items.map((row) => row.id),
      );
      request.auditNote = { recordCount: page.items.length };
      return {
        items: page.items.map((row) => submissionView(row, attachments.get(row.id) ?? [])),
        next_cursor: page.next_cursor,
      };
    },
  );

  const submissionOf = async (id: string) => {
    const row = await findSubmission(db, id);
    if (!row) {
      throw notFound('submission');
    }
    return row;
  };

  app.get(
    '/odk/submissions/:id',
    {
      config: review('odk.submission.read'),
      schema: {
        tags: ['odk'],
        operationId: 'getOdkSubmission',
        summary: 'One submission, with its raw XML',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: {
          200: Type.Intersect([SubmissionSchema, Type.Object({ xml: Type.String() })]),
          ...problems(400, 404, 409),
        },
      },
    },
    async (request) => {
      const row = await submissionOf(request.params.id);
      const xml = await submissionXml(db, row.id);
      request.auditNote = { resourceId: row.instance_id, recordCount: 1 };
      return { ...submissionView(row, (await attachmentsOf(db, [row.id])).get(row.id) ?? []), xml };
    },
  );

  app.get(
    '/odk/submissions/:id/attachments/:name',
    {
      config: review('odk.attachment.read'),
      schema: {
        tags: ['odk'],
        operationId: 'getOdkSubmissionAttachment',
        summary: 'An attachment of a submission (photo, signature)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }), name: MediaName }),
        response: {
          200: rawResponse('The file as received, with its media type', ['*/*'], true),
          ...problems(404),
        },
      },
    },
    async (request, reply) => {
      const file = await findAttachment(db, request.params.id, request.params.name);
      if (!file) {
        throw notFound('attachment');
      }
      request.auditNote = { resourceId: `${request.params.id}/${request.params.name}`, recordCount: 1 };
      return reply.header('content-type', file.content_type).send(file.content);
    },
  );

  app.post(
    '/odk/submissions/:id/process',
    {
      config: review('odk.submission.process'),
      schema: {
        tags: ['odk'],
        operationId: 'processOdkSubmission',
        summary: 'Read a failed (or not yet read) submission again, with its form’s current mapping',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: SubmissionSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const before = await submissionOf(request.params.id);
      if (before.form_id === '(unreadable)') {
        throw badRequest('this submission is not readable XML: it cannot be processed');
      }
      await processSubmission(db, before.id, principalOf(request).areaScope);
      const row = await submissionOf(before.id);
      request.auditNote = { resourceId: row.instance_id, recordCount: 1 };
      return submissionView(row, (await attachmentsOf(db, [row.id])).get(row.id) ?? []);
    },
  );
}

const formView = (form: {
  form_id: string;
  version: string;
  title: string;
  hash: string;
  active: boolean;
  created_at: Date;
}) => ({
  form_id: form.form_id,
  version: form.version,
  title: form.title,
  hash: form.hash,
  active: form.active,
  created_at: form.created_at.toISOString(),
});

const TYPES: Record<string, string> = {
  csv: 'text/csv',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  xml: 'text/xml',
  geojson: 'application/geo+json',
};
const contentTypeOf = (name: string) =>
  TYPES[name.split('.').pop()!.toLowerCase()] ?? 'application/octet-stream';
