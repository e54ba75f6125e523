import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { recordAudit } from '#platform/audit/audit-log';
import { credentialColumns } from '#security/stored-credential';
import type { Principal } from '#platform/auth/principal';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';
import { rawResponse } from '#platform/http/openapi';
import { Slots, type SlotLimits } from '#platform/http/long-reads';
import { badRequest, conflict, notFound, ProblemError } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, principalOf, problems, StringEnum } from '#platform/http/kit';
import type { JobQueue } from '#platform/jobs/queue';
import { JobResource } from '#platform/jobs/schemas';
import {
  checkDefinition,
  createDefinition,
  DefinitionInput,
  definitionVersions,
  definitionView,
  findDefinition,
  findVersion,
  listDefinitions,
  VersionInput,
  type DefinitionRow,
} from './definitions.ts';
import { EXPORT_ENTITIES, FIELDS_OF } from './fields.ts';
import { feedRoute } from './feed-routes.ts';
import { exportsDir, filesOfDefinition, findExportFile, isReady } from './files.ts';
import { EXPORT_FORMATS, FORMATS, type ExportFormat } from './formats/index.ts';
import { exportXsd } from './formats/xml.ts';
import { EXPORT_JOB } from './job.ts';
import { archive, auditWeakening, decide, EXPORTS_ADMIN, saveVersion } from './ownership.ts';
import { planExport } from './plan.ts';
import { startExport } from './run.ts';
import { LegalBasis, Purpose } from './statement.ts';

/**
 * Export definitions (saved, versioned), and exports made from them: streamed as a download, or
 * written to a file by a job. Every export runs under its caller's field policy and area scope,
 * states its purpose and legal basis, and is audited when it starts and when it ends.
 */

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,79}$' }) });
const JobParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Version = Type.Integer({
  minimum: 1,
  maximum: 2147483647,
  description: 'A saved version (default: the current one)',
});

const Definition = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.Integer(),
  description: Type.Union([Type.String(), Type.Null()]),
  entity: Type.String(),
  fields: Type.Array(Type.String()),
  filter: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  format: Type.String(),
  include_members: Type.Boolean(),
  pseudonymise: Type.Boolean(),
  drop_direct_identifiers: Type.Boolean(),
  schedule: Type.Union([Type.String(), Type.Null()]),
  schedule_purpose: Type.Union([Type.String(), Type.Null()]),
  schedule_legal_basis: Type.Union([Type.String(), Type.Null()]),
  owner_id: Type.Union([Type.String(), Type.Null()], {
    description: 'The client the definition belongs to (changing another’s needs exports:admin)',
  }),
  created_by: Type.Union([Type.String(), Type.Null()], { description: 'The client that saved this version' }),
  created_at: Type.String({ format: 'date-time' }),
  privacy_weakened: Type.Array(Type.String(), {
    description: 'How this version weakens privacy against the version in use when it was saved',
  }),
  approval: StringEnum(['not_needed', 'pending', 'approved', 'rejected'], {
    description: 'pending: waits for another holder of exports:admin (the version before stays in use)',
  }),
  decided_by: Type.Union([Type.String(), Type.Null()]),
  decided_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  decision_reason: Type.Union([Type.String(), Type.Null()]),
});

const ExportFile = Type.Object({
  format: Type.String(),
  rows: Type.Union([Type.Integer(), Type.Null()]),
  bytes: Type.Union([Type.Integer(), Type.Null()]),
  ready: Type.Boolean(),
  expires_at: Type.String({ format: 'date-time' }),
  deleted: Type.Boolean(),
  download: Type.Union([Type.String(), Type.Null()], { description: 'Path of the file, once ready' }),
});

/** An export job: the job resource (as GET /api/v1/jobs/{id} shows it), its own URL and its file. */
const ExportJob = Type.Object(
  {
    ...JobResource.properties,
    status_url: Type.String({ description: 'Where the job, its progress and then its file are shown' }),
    file: Type.Union([ExportFile, Type.Null()], { description: 'The file, once the job started writing it' }),
  },
  { description: 'An export job and where it stands' },
);
type ExportJob = Static<typeof ExportJob>;

const jobUrl = (id: string) => `/api/v1/export-jobs/${id}`;

/** The export job resource: the job, and the file it writes (null until it starts writing it). */
async function exportJobOf(db: Kysely<DB>, job: JobResource): Promise<ExportJob> {
  const file = await findExportFile(db, job.id);
  return {
    ...job,
    status_url: jobUrl(job.id),
    file:
      file === undefined
        ? null
        : {
            format: file.format,
            rows: file.row_count,
            bytes: file.byte_size,
            ready: isReady(file),
            expires_at: file.expires_at.toISOString(),
            deleted: file.deleted_at !== null,
            download:
              file.completed_at !== null && file.deleted_at === null ? `${jobUrl(job.id)}/file` : null,
          },
  };
}

const manage = accessTo('exports:manage', 'export_definition');
const read = accessTo('registry:read', 'export_definition', 'social');

export interface ExportRouteOptions {
  db: Kysely<DB>;
  vault: KeyVault;
  jobs: JobQueue;
  dataDir: string;
  fileHours: number;
  feedPollMs: number;
  /** Feeds open at once per client and in total. */
  feedLimits: SlotLimits;
  /** The database's COPY TO STDOUT (PostgreSQL), for CSV. */
  copyOut?: Database['copyOut'];
}

export async function exportRoutes(app: App, options: ExportRouteOptions): Promise<void> {
  definitionRoutes(app, options);
  downloadRoute(app, options);
  jobRoutes(app, options);
  const slots = new Slots('export feeds', options.feedLimits, {
    perClient: 'SPX_EXPORT_FEEDS_PER_CLIENT',
    total: 'SPX_EXPORT_FEEDS_TOTAL',
  });
  feedRoute(app, { db: options.db, vault: options.vault, pollMs: options.feedPollMs, slots });

  app.get(
    '/export-fields',
    {
      config: { access: { permission: 'registry:read', audit: false } },
      schema: {
        tags: ['exports'],
        operationId: 'listExportFields',
        summary: 'The fields an export definition may select, per entity',
        response: {
          200: Type.Record(
            Type.String(),
            Type.Array(
              Type.Object({
                name: Type.String(),
                type: Type.String(),
                description: Type.String(),
                field_class: Type.Union([Type.String(), Type.Null()]),
                direct_identifier: Type.Boolean(),
                pseudonymised: Type.Boolean(),
              }),
            ),
          ),
        },
      },
    },
    async () =>
      Object.fromEntries(
        EXPORT_ENTITIES.map((entity) => [
          entity,
          FIELDS_OF[entity].map((field) => ({
            name: field.name,
            type: field.type,
            description: field.description,
            field_class: field.fieldClass ?? null,
            direct_identifier: field.direct === true,
            pseudonymised: field.pseudonym === true,
          })),
        ]),
      ),
  );

  app.get(
    '/exports/schema.xsd',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['exports'],
        operationId: 'getExportXmlSchema',
        summary: 'The XML Schema every XML export validates against',
        response: { 200: rawResponse('XML Schema 1.0', ['application/xml']) },
      },
    },
    async (_request, reply) => reply.type('application/xml; charset=utf-8').send(exportXsd()),
  );
}

function definitionRoutes(app: App, { db }: ExportRouteOptions): void {
  const saved = (request: FastifyRequest, row: DefinitionRow) => {
    request.auditNote = { resourceId: `${row.name}@${row.version}`, recordCount: 1 };
    return definitionView(row);
  };

  app.post(
    '/export-definitions',
    {
      config: manage('export_definition.create'),
      schema: {
        tags: ['exports'],
        operationId: 'createExportDefinition',
        summary: 'Save a new export definition (version 1)',
        body: DefinitionInput,
        response: { 201: Definition, ...problems(400, 409) },
      },
    },
    async (request, reply) => {
      checked(request.body, principalOf(request));
      const row = await createDefinition(db, request.body, principalOf(request).clientId);
      return reply.code(201).send(saved(request, row));
    },
  );

  app.put(
    '/export-definitions/:name',
    {
      config: manage('export_definition.update'),
      schema: {
        tags: ['exports'],
        operationId: 'updateExportDefinition',
        summary: 'Save a new version of an export definition (earlier versions are kept)',
        description:
          'The name is the path’s (the body need not repeat it). Only the definition’s owner, or a holder of ' +
          'exports:admin, saves a version. A version that weakens privacy (pseudonymisation off, direct identifiers ' +
          'on, identifying fields added, the filter widened) is audited as such (export_definition.privacy_weakened); ' +
          'on a scheduled definition it answers 202: it waits for another holder of exports:admin to approve it, the ' +
          'version before staying in use.',
        params: NameParams,
        body: VersionInput,
        response: {
          200: Definition,
          202: Definition,
          ...problems(400, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (request.body.name !== undefined && request.body.name !== name) {
        throw badRequest('the body names another definition than the path', [
          { pointer: '/name', detail: `must be "${name}" (or left out: the path names the definition)` },
        ]);
      }
      const input = { ...request.body, name };
      const principal = principalOf(request);
      checked(input, principal);
      const version = await saveVersion(db, input, principal);
      if (!version) {
        throw notFound('export definition');
      }
      if (version.weakenings.length > 0) {
        await auditWeakening(db, request.id, principal, version.row);
      }
      return reply.code(version.row.approval === 'pending' ? 202 : 200).send(saved(request, version.row));
    },
  );

  app.get(
    '/export-definitions',
    {
      config: read('export_definition.list'),
      schema: {
        tags: ['exports'],
        operationId: 'listExportDefinitions',
        summary: 'Export definitions (current versions)',
        response: { 200: Type.Object({ items: Type.Array(Definition) }) },
      },
    },
    async (request) => {
      const rows = await listDefinitions(db);
      request.auditNote = { recordCount: rows.length };
      return { items: rows.map(definitionView) };
    },
  );

  app.get(
    '/export-definitions/:name',
    {
      config: read('export_definition.read'),
      schema: {
        tags: ['exports'],
        operationId: 'getExportDefinition',
        summary: 'An export definition: its current version, or the one asked for',
        params: NameParams,
        querystring: Type.Object({ version: Type.Optional(Version) }, { additionalProperties: false }),
        response: { 200: Definition, ...problems(400, 404) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { version } = request.query;
      // Any saved version may be read (one waiting for approval included); only usable ones are exported.
      const row =
        version === undefined ? await findDefinition(db, name) : await findVersion(db, name, version);
      if (!row) {
        throw notFound(
          version === undefined ? 'export definition' : `version ${version} of this export definition`,
        );
      }
      return saved(request, row);
    },
  );

  app.get(
    '/export-definitions/:name/versions',
    {
      config: read('export_definition.versions'),
      schema: {
        tags: ['exports'],
        operationId: 'listExportDefinitionVersions',
        summary: 'Every saved version of an export definition, newest first',
        params: NameParams,
        response: { 200: Type.Object({ items: Type.Array(Definition) }), ...problems(400, 404) },
      },
    },
    async (request) => {
      const rows = await definitionVersions(db, request.params.name);
      if (rows.length === 0) {
        throw notFound('export definition');
      }
      request.auditNote = { resourceId: request.params.name, recordCount: rows.length };
      return { items: rows.map(definitionView) };
    },
  );

  app.delete(
    '/export-definitions/:name',
    {
      config: manage('export_definition.archive'),
      schema: {
        tags: ['exports'],
        operationId: 'archiveExportDefinition',
        summary: 'Archive an export definition (every version; its name cannot be used again)',
        description: 'Only the definition’s owner, or a holder of exports:admin, archives it.',
        params: NameParams,
        response: { 204: Type.Null(), ...problems(400, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!(await archive(db, request.params.name, principalOf(request)))) {
        throw notFound('export definition');
      }
      request.auditNote = { resourceId: request.params.name, recordCount: 1 };
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/export-definitions/:name/versions/:version/decision',
    {
      config: {
        access: {
          permission: EXPORTS_ADMIN,
          audit: { action: 'export_definition.decide', resourceType: 'export_definition' },
        },
      },
      schema: {
        operationId: 'decideExportDefinitionVersion',
        tags: ['exports'],
        summary: 'Approve (put in use) or reject a version that weakens privacy, waiting for approval',
        description:
          'By a holder of exports:admin other than the client that saved the version; 409 when it is not waiting.',
        params: Type.Object({ name: NameParams.properties.name, version: Version }),
        body: Type.Object(
          {
            decision: StringEnum(['approve', 'reject']),
            reason: Type.String({ minLength: 1, maxLength: 500 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Definition, ...problems(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      request.auditNote = { resourceId: `${name}@${version}` };
      const { decision, reason } = request.body;
      const row = await decide(
        db,
        name,
        version,
        { approve: decision === 'approve', reason },
        principalOf(request),
      );
      return saved(request, row);
    },
  );
}

/** A definition's checks, and its filter compiled for the one who saves it (refused as they would be). */
function checked(input: DefinitionInput, principal: Principal): void {
  checkDefinition(input);
  planExport(draft(input), principal);
}

/** An unsaved definition, as plan takes it. */
const draft = (input: DefinitionInput): DefinitionRow => ({
  id: '',
  name: input.name,
  version: 0,
  description: null,
  entity: input.entity,
  fields: input.fields,
  filter: input.filter ?? null,
  format: input.format,
  include_members: input.include_members ?? false,
  pseudonymise: input.pseudonymise ?? false,
  drop_direct_identifiers: input.drop_direct_identifiers ?? false,
  schedule: input.schedule ?? null,
  schedule_purpose: input.schedule_purpose ?? null,
  schedule_legal_basis: input.schedule_legal_basis ?? null,
  created_by: null,
  created_at: new Date(),
  archived_at: null,
  owner_id: null,
  privacy_weakened: [],
  approval: 'not_needed',
  decided_by: null,
  decided_at: null,
  decision_reason: null,
});

async function existing(db: Kysely<DB>, name: string, version?: number): Promise<DefinitionRow> {
  const row = await findDefinition(db, name, version);
  if (!row) {
    throw notFound(
      version === undefined ? 'export definition' : `version ${version} of this export definition`,
    );
  }
  return row;
}

/** The definition in the format asked for, when it can be (members nest only in some formats). */
function inFormat(definition: DefinitionRow, format: string | undefined): DefinitionRow {
  if (format === undefined || format === definition.format) {
    return definition;
  }
  if (definition.include_members && !FORMATS[format as ExportFormat].nests) {
    throw badRequest(`this definition nests members, which ${format} cannot hold`, [
      { pointer: 'format', detail: 'use json, ndjson or xml' },
    ]);
  }
  return { ...definition, format: format as ExportFormat };
}

/** The purpose of an export: the X-Purpose header or the purpose parameter; one is required. */
function purposeOf(request: FastifyRequest, given: string | undefined): string {
  const purpose = given ?? request.purpose;
  if (!purpose) {
    throw badRequest('an export states its purpose: the X-Purpose header or the purpose parameter', [
      { pointer: 'purpose', detail: 'required' },
    ]);
  }
  return purpose;
}

/** The media types of the export formats (a download or an export file is in one of them). */
const FORMAT_TYPES = Object.values(FORMATS).map((format) => format.contentType);

const fileNameOf = (definition: DefinitionRow) =>
  `${definition.name}-v${definition.version}.${FORMATS[definition.format].extension}`;

function downloadRoute(app: App, { db, vault, copyOut }: ExportRouteOptions): void {
  app.get(
    '/export-definitions/:name/data',
    {
      config: read('export.download'),
      schema: {
        tags: ['exports'],
        operationId: 'downloadExport',
        summary: 'Stream an export as a download (constant memory, any size)',
        description:
          "The records the caller may receive, in the definition format (or `format`). Fields the caller's policy " +
          'hides are left out and named in the `Export-Withheld-Fields` header. Audited when it starts and, with the ' +
          'number of records, when it ends (`export.download.done`).',
        params: NameParams,
        querystring: Type.Object(
          {
            legal_basis: LegalBasis,
            purpose: Type.Optional(Purpose),
            version: Type.Optional(Version),
            format: Type.Optional(StringEnum(EXPORT_FORMATS)),
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 1000,
                description: 'At most this many records (a preview)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: rawResponse('The export, in its format', FORMAT_TYPES, true),
          ...problems(400, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const { legal_basis, purpose, version, format, limit } = request.query;
      const stated = purposeOf(request, purpose);
      const definition = inFormat(await existing(db, request.params.name, version), format);
      const principal = principalOf(request);
      const run = await startExport({ db, vault, definition, principal, maxRows: limit, copyOut });
      request.auditNote = {
        resourceId: `${definition.name}@${definition.version}`,
        purpose: stated,
        legalBasis: legal_basis,
      };
      request.purpose = stated;
      const finished = (outcome: 'success' | 'error') =>
        recordAudit(db, {
          requestId: request.id,
          clientId: principal.clientId,
          clientName: principal.clientName,
          action: 'export.download.done',
          purpose: stated,
          legalBasis: legal_basis,
          resourceType: 'export_definition',
          resourceId: `${definition.name}@${definition.version}`,
          recordCount: run.rows(),
          outcome,
        });
      whenDone(run.stream, reply, (complete) => {
        finished(complete ? 'success' : 'error').catch((error: unknown) =>
          request.log.error({ error: String(error) }, 'export audit entry not written'),
        );
      });
      return reply
        .type(FORMATS[definition.format].contentType)
        .header('content-disposition', `attachment; filename="${fileNameOf(definition)}"`)
        .header('export-withheld-fields', run.plan.withheld.join(', '))
        .send(run.stream);
    },
  );
}

/** Calls back once: true when the whole stream reached the client, false when it broke off. */
function whenDone(
  stream: NodeJS.ReadableStream,
  reply: FastifyReply,
  done: (complete: boolean) => void,
): void {
  let called = false;
  const once = (complete: boolean) => {
    if (!called) {
      called = true;
      done(complete);
    }
  };
  stream.on('error', () => once(false));
  reply.raw.on('finish', () => once(true));
  reply.raw.on('close', () => once(reply.raw.writableFinished));
}

function jobRoutes(app: App, { db, jobs, dataDir, fileHours }: ExportRouteOptions): void {
  const mayRead = (principal: Principal, clientId: string | null) =>
    principal.scopes.has('clients:manage') || clientId === principal.clientId;

  app.post(
    '/export-jobs',
    {
      config: read('export.job.create', 'job'),
      schema: {
        tags: ['exports'],
        operationId: 'createExportJob',
        summary:
          'Start an export job: the export is written to a file, with progress; download it when ready',
        description:
          'Answers 202 with the export job (as GET at its status_url, the Location, shows it): its status and ' +
          'progress, then its file.',
        body: Type.Object(
          {
            definition: NameParams.properties.name,
            version: Type.Optional(Version),
            format: Type.Optional(StringEnum(EXPORT_FORMATS)),
            purpose: Purpose,
            legal_basis: LegalBasis,
          },
          { additionalProperties: false },
        ),
        response: { 202: ExportJob, ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const { definition: name, version, format, purpose, legal_basis } = request.body;
      const definition = inFormat(await existing(db, name, version), format);
      const principal = principalOf(request);
      // Refused now (filter, policy) rather than in the job.
      planExport(definition, principal);
      const id = await jobs.enqueue(
        EXPORT_JOB,
        {
          definition_id: definition.id,
          format: definition.format,
          client_id: principal.clientId,
          credential: credentialColumns(principal),
          purpose,
          legal_basis,
          expires_hours: fileHours,
        },
        { requestId: request.id, createdBy: principal.clientId },
      );
      request.auditNote = { resourceId: id, recordCount: 0, purpose, legalBasis: legal_basis };
      request.purpose = purpose;
      const job = await exportJobOf(db, (await jobs.get(id))!);
      return reply.code(202).header('location', job.status_url).send(job);
    },
  );

  app.get(
    '/export-jobs/:id',
    {
      config: read('export.job.read', 'job'),
      schema: {
        tags: ['exports'],
        operationId: 'getExportJob',
        summary: 'An export job: status, progress (rows done of total), and its file once ready',
        params: JobParams,
        response: { 200: ExportJob, ...problems(400, 404) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const scope = principal.scopes.has('clients:manage') ? {} : { createdBy: principal.clientId };
      const job = await jobs.get(request.params.id, scope);
      if (!job || job.kind !== EXPORT_JOB) {
        throw notFound('export job');
      }
      request.auditNote = { resourceId: job.id, recordCount: 1 };
      return exportJobOf(db, job);
    },
  );

  app.get(
    '/export-definitions/:name/files',
    {
      config: read('export.files.list', 'job'),
      schema: {
        tags: ['exports'],
        operationId: 'listExportFiles',
        summary:
          "Files written from a definition (jobs and scheduled runs): the caller's own, every one for administrators",
        params: NameParams,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                job_id: Type.String(),
                version: Type.Integer(),
                format: Type.String(),
                rows: Type.Union([Type.Integer(), Type.Null()]),
                created_at: Type.String({ format: 'date-time' }),
                expires_at: Type.String({ format: 'date-time' }),
                download: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const files = await filesOfDefinition(
        db,
        request.params.name,
        principal.scopes.has('clients:manage') ? undefined : principal.clientId,
      );
      request.auditNote = { resourceId: request.params.name, recordCount: files.length };
      return {
        items: files.map((file) => ({
          job_id: file.job_id,
          version: file.version,
          format: file.format,
          rows: file.row_count,
          created_at: file.created_at.toISOString(),
          expires_at: file.expires_at.toISOString(),
          download: isReady(file) ? `/api/v1/export-jobs/${file.job_id}/file` : null,
        })),
      };
    },
  );

  app.get(
    '/export-jobs/:id/file',
    {
      config: read('export.job.download', 'job'),
      schema: {
        tags: ['exports'],
        operationId: 'downloadExportJobFile',
        summary: 'Download the file of a finished export job (until it expires)',
        params: JobParams,
        response: {
          200: rawResponse('The export file, in its format', FORMAT_TYPES, true),
          ...problems(400, 404, 409, 410),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const file = await findExportFile(db, request.params.id);
      if (!file || !mayRead(principal, file.client_id)) {
        throw notFound('export file');
      }
      if (file.deleted_at || file.expires_at.getTime() <= Date.now()) {
        throw new ProblemError(
          410,
          'gone',
          'Gone',
          'the export file expired and was deleted; run the export again',
        );
      }
      if (!file.completed_at) {
        throw conflict('the export job has not finished writing this file');
      }
      request.auditNote = {
        resourceId: file.job_id,
        recordCount: file.row_count ?? 0,
        purpose: file.purpose,
        legalBasis: file.legal_basis,
      };
      const format = FORMATS[file.format as ExportFormat];
      return reply
        .type(format.contentType)
        .header('content-disposition', `attachment; filename="export-${file.job_id}.${format.extension}"`)
        .header('content-length', String(file.byte_size))
        .send(createReadStream(join(exportsDir(dataDir), file.file_name)));
    },
  );
}
