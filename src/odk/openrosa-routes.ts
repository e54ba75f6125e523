import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { toProblemError } from '#platform/http/errors';
import { rawResponse } from '#platform/http/openapi';
import { badRequest, notFound, ProblemError, tooLarge } from '#platform/problem';
import type { App, RouteAccess } from '#platform/http/types';
import { principalOf } from '#platform/http/kit';
import { findForm, listCurrentForms } from './forms.ts';
import { processSubmission, storeSubmission, type Attachment } from './submissions.ts';
import { mediaFilesOf } from './xform.ts';

/**
 * The OpenRosa endpoints ODK Collect uses (OpenRosa 1.0: form list API, form download, manifest,
 * form submission API), under `/odk`: a field worker sets the server URL to `https://…/odk` and signs
 * in with their user name and API key (HTTP Basic over TLS). Every answer carries
 * `X-OpenRosa-Version: 1.0`; errors are OpenRosaResponse messages with the protocol's status codes.
 */

const OPENROSA = { 'x-openrosa-version': '1.0' };
const XML = 'text/xml; charset=utf-8';
const field = (action: string): { access: RouteAccess } => ({
  access: { permission: 'field:submit', audit: { action, resourceType: 'odk_form' }, httpBasic: true },
});

// The OpenAPI entries of the OpenRosa routes: every answer, errors too, is an OpenRosa XML document.
const AUTH = 'HTTP Basic over TLS: a user name and an API key as the password. ';
const xml = (description: string) => rawResponse(description, ['text/xml']);
const errors = {
  400: xml('OpenRosaResponse: what is wrong with the request'),
  401: xml('OpenRosaResponse, with a Basic challenge'),
  403: xml('OpenRosaResponse: the key lacks the permission field:submit'),
  404: xml('OpenRosaResponse: no such form or file'),
};
const FormParams = Type.Object({ formId: Type.String({ minLength: 1 }) });
/** An OpenRosa route's OpenAPI entry: its schema, with the credentials it takes and its XML errors. */
function openRosa<S extends FastifySchema>(operationId: string, summary: string, schema: S) {
  return {
    tags: ['odk'],
    operationId,
    summary,
    ...schema,
    description: `${AUTH}${schema.description ?? ''}`,
    response: { ...errors, ...(schema.response as object | undefined) },
  };
}

const FORM_LIST = openRosa('listOpenRosaForms', 'OpenRosa form list: the current version of every form', {
  description:
    'OpenRosa Form List API (xformsList). verbose and listAllVersions are accepted; the list is the same.',
  querystring: Type.Object(
    {
      formID: Type.Optional(Type.String({ description: 'Only this form' })),
      verbose: Type.Optional(Type.String()),
      listAllVersions: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  response: { 200: xml('xforms: each form with its version, hash, download and manifest URLs') },
});

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

const openRosaMessage = (nature: string, text: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<OpenRosaResponse xmlns="http://openrosa.org/http/response">` +
  `<message nature="${nature}">${escapeXml(text)}</message></OpenRosaResponse>`;

export interface OpenRosaOptions {
  db: Kysely<DB>;
  publicUrl: string | undefined;
  maxSubmissionBytes: number;
}

export async function openRosaRoutes(
  app: App,
  { db, publicUrl, maxSubmissionBytes }: OpenRosaOptions,
): Promise<void> {
  await app.register(multipart, {
    limits: { fileSize: maxSubmissionBytes, files: 200, fields: 20, parts: 220 },
  });
  const baseOf = (request: FastifyRequest) =>
    `${publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`}/odk`;

  // Errors as OpenRosa messages; ODK Collect shows their text to the field worker.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblemError(error);
    const status = problem.status;
    if (status >= 500) {
      request.log.error({ err: error }, 'OpenRosa request failed');
    }
    const text =
      status >= 500 ? 'The server could not process the request; it was logged.' : messageOf(problem);
    const headers: Record<string, string> = { ...OPENROSA, 'content-type': XML };
    if (status === 401) {
      headers['www-authenticate'] = 'Basic realm="SP Exchange", charset="UTF-8"';
    }
    return reply.code(status).headers(headers).send(openRosaMessage('error', text));
  });

  const xmlReply = (reply: FastifyReply, body: string, status = 200) =>
    reply
      .code(status)
      .headers({ ...OPENROSA, 'content-type': XML })
      .send(body);

  app.get('/formList', { config: field('odk.form.list'), schema: FORM_LIST }, async (request, reply) => {
    const only = request.query.formID;
    const forms = (await listCurrentForms(db)).filter((form) => !only || form.form_id === only);
    const base = baseOf(request);
    const items = forms.map((form) => {
      const media = mediaFilesOf(form.xml).length > 0;
      const url = `${base}/forms/${encodeURIComponent(form.form_id)}`;
      return (
        `<xform><formID>${escapeXml(form.form_id)}</formID><name>${escapeXml(form.title)}</name>` +
        `<version>${escapeXml(form.version)}</version><hash>${form.hash}</hash>` +
        `<downloadUrl>${escapeXml(url)}/form.xml</downloadUrl>` +
        (media ? `<manifestUrl>${escapeXml(url)}/manifest</manifestUrl>` : '') +
        `</xform>`
      );
    });
    request.auditNote = { recordCount: forms.length };
    return xmlReply(
      reply,
      `<?xml version="1.0" encoding="UTF-8"?>\n<xforms xmlns="http://openrosa.org/xforms/xformsList">${items.join('')}</xforms>`,
    );
  });

  app.get(
    '/forms/:formId/form.xml',
    {
      config: field('odk.form.download'),
      schema: openRosa('downloadOpenRosaForm', 'An XForm, as ODK Collect downloads it', {
        params: FormParams,
        response: { 200: xml('The XForm (the current version)') },
      }),
    },
    async (request, reply) => {
      const { formId } = request.params;
      const form = await findForm(db, formId);
      if (!form) {
        throw notFound(`form ${formId}`);
      }
      request.auditNote = { resourceId: formId, recordCount: 1 };
      return xmlReply(reply, form.xml);
    },
  );

  app.get(
    '/forms/:formId/manifest',
    {
      config: field('odk.form.manifest'),
      schema: openRosa('getOpenRosaManifest', "A form's media files (OpenRosa manifest)", {
        params: FormParams,
        response: { 200: xml('manifest: each media file with its hash and download URL') },
      }),
    },
    async (request, reply) => {
      const { formId } = request.params;
      if (!(await findForm(db, formId))) {
        throw notFound(`form ${formId}`);
      }
      const media = await db
        .selectFrom('odk_form_media')
        .select(['name', 'hash'])
        .where('form_id', '=', formId)
        .orderBy('name')
        .execute();
      const url = `${baseOf(request)}/forms/${encodeURIComponent(formId)}/media/`;
      const files = media.map(
        (file) =>
          `<mediaFile><filename>${escapeXml(file.name)}</filename><hash>${file.hash}</hash>` +
          `<downloadUrl>${escapeXml(url + encodeURIComponent(file.name))}</downloadUrl></mediaFile>`,
      );
      request.auditNote = { resourceId: formId, recordCount: media.length };
      return xmlReply(
        reply,
        `<?xml version="1.0" encoding="UTF-8"?>\n<manifest xmlns="http://openrosa.org/xforms/xformsManifest">${files.join('')}</manifest>`,
      );
    },
  );

  app.get(
    '/forms/:formId/media/:name',
    {
      config: field('odk.form.media'),
      schema: openRosa('downloadOpenRosaMedia', 'A media file of a form (image, CSV of choices)', {
        params: Type.Object({ formId: FormParams.properties.formId, name: Type.String({ minLength: 1 }) }),
        response: { 200: rawResponse('The file, with its media type', ['*/*'], true) },
      }),
    },
    async (request, reply) => {
      const { formId, name } = request.params;
      const file = await db
        .selectFrom('odk_form_media')
        .select(['content', 'content_type'])
        .where('form_id', '=', formId)
        .where('name', '=', name)
        .executeTakeFirst();
      if (!file) {
        throw notFound(`media file ${name}`);
      }
      request.auditNote = { resourceId: `${formId}/${name}`, recordCount: 1 };
      return reply.headers({ ...OPENROSA, 'content-type': file.content_type }).send(file.content);
    },
  );

  // Collect asks first with HEAD: the answer says how large a submission may be. HEAD routes stay
  // out of the OpenAPI document (@fastify/swagger leaves them out); the submission's entry tells of it.
  app.head(
    '/submission',
    { config: field('odk.submission.probe'), schema: { hide: true } },
    async (request, reply) => {
      request.auditNote = { recordCount: 0 };
      return reply
        .code(204)
        .headers({ ...OPENROSA, 'x-openrosa-accept-content-length': String(maxSubmissionBytes) })
        .send();
    },
  );

  app.post(
    '/submission',
    {
      config: field('odk.submission'),
      schema: openRosa('submitOpenRosaForm', 'Submit a filled form (OpenRosa Form Submission API)', {
        description:
          'multipart/form-data: the instance XML as the part xml_submission_file, each attachment as a part ' +
          'named by its file name; *isIncomplete*=yes keeps it until the rest arrives. Clients ask first with ' +
          'HEAD /odk/submission: 204 with X-OpenRosa-Accept-Content-Length, the most bytes a submission may have.',
        response: {
          201: xml('OpenRosaResponse: received'),
          202: xml('OpenRosaResponse: this submission was received before'),
          409: xml('OpenRosaResponse: another submission has the same instanceID'),
          413: xml('OpenRosaResponse: larger than the limit'),
        },
      }),
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw badRequest('a submission is multipart/form-data with an xml_submission_file part');
      }
      const { xml, attachments, incomplete } = await readParts(request, maxSubmissionBytes).catch(
        malformedBody,
      );
      const principal = principalOf(request);
      const received = await storeSubmission(db, {
        xml,
        attachments,
        source: 'openrosa',
        submittedBy: principal.clientName,
        incomplete,
      });
      if (!incomplete) {
        await processSubmission(db, received.id, principal.areaScope);
      }
      request.auditNote = { resourceId: received.instanceId, recordCount: 1 };
      return xmlReply(
        reply,
        openRosaMessage(
          'submit_success',
          received.created ? 'Submission received. Thank you.' : 'This submission was already received.',
        ),
        received.created ? 201 : 202,
      );
    },
  );
}

/** The text of an error message: what is wrong, and each field at fault (a bad query parameter). */
const messageOf = (problem: ProblemError) =>
  [problem.detail ?? problem.title, ...(problem.errors ?? []).map((e) => `${e.pointer}: ${e.detail}`)].join(
    '; ',
  );

/**
 * The multipart parser's own errors (a body cut short, a broken part header) carry no status: the
 * body is malformed, not the server broken. Limits (413) and our refusals keep theirs.
 */
function malformedBody(error: Error & { statusCode?: number }): never {
  throw error instanceof ProblemError || error.statusCode !== undefined
    ? error
    : badRequest('the multipart body is malformed or cut short: send the submission again');
}

/** The submission XML and its attachments from the multipart body, within the size limit. */
async function readParts(request: FastifyRequest, maxBytes: number) {
  let xml: Buffer | undefined;
  let incomplete = false;
  let total = 0;
  const attachments: Attachment[] = [];
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      incomplete ||= part.fieldname === '*isIncomplete*' && String(part.value) === 'yes';
      continue;
    }
    const data = await part.toBuffer();
    total += data.length;
    if (total > maxBytes) {
      throw tooLarge(`a submission may be at most ${maxBytes} bytes with its attachments`);
    }
    if (part.fieldname === 'xml_submission_file') {
      xml = data;
    } else if (part.filename) {
      if (!/^[\w.-]{1,200}$/.test(part.filename)) {
        throw badRequest(`attachment name ${part.filename} is not a plain file name`);
      }
      attachments.push({ name: part.filename, contentType: part.mimetype, data });
    }
  }
  if (xml === undefined) {
    throw badRequest('the submission has no xml_submission_file part');
  }
  return { xml, attachments, incomplete };
}
